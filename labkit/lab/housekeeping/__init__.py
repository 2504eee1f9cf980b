"""The lab's housekeeping: its clock (`clock`: the offset a learner moves forward) and the
service (`service`: lifecycle policies on a schedule, garbage collection, their endpoints)."""
