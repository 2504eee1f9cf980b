"""Operations of ECR features the lab does not have (pull through cache, replication backfills,
managed signing): each answers as ECR would for a registry without them, or says in the lab's
voice that the lab does not do it."""

from __future__ import annotations

from ..ecr_registry import EcrRegistry, Params
from ..errors import (
    PullThroughCacheRuleNotFound,
    SigningConfigurationNotFound,
    Unsupported,
    UnsupportedUpstreamRegistry,
)

NO_BACKFILLS = ("replication backfills", "the lab is one registry in one region.")


class NotInTheLab:
    def __init__(self, registry: EcrRegistry):
        self.reg = registry

    def create_pull_through_cache_rule(self, params: Params) -> Params:
        raise UnsupportedUpstreamRegistry()

    def describe_pull_through_cache_rules(self, params: Params) -> Params:
        if params.get("ecrRepositoryPrefixes"):
            raise PullThroughCacheRuleNotFound()
        return {"pullThroughCacheRules": []}

    def delete_pull_through_cache_rule(self, params: Params) -> Params:
        raise PullThroughCacheRuleNotFound()

    update_pull_through_cache_rule = delete_pull_through_cache_rule
    validate_pull_through_cache_rule = delete_pull_through_cache_rule

    def start_replication_backfill(self, params: Params) -> Params:
        raise Unsupported(*NO_BACKFILLS)

    describe_replication_backfill_results = start_replication_backfill
    list_replication_backfills = start_replication_backfill
    stop_replication_backfill = start_replication_backfill

    def put_signing_configuration(self, params: Params) -> Params:
        raise Unsupported("managed image signing", "signing needs AWS Signer, which the lab "
                          "does not have.")

    def get_signing_configuration(self, params: Params) -> Params:
        raise SigningConfigurationNotFound()

    delete_signing_configuration = get_signing_configuration
