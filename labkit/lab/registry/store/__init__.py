"""The parts of one registry's store on disk, each holding one kind of record (see
`registry.storage.Storage`, which composes them): `files` (where records live and how they are
written), `changes` (per-repository locks and change generations, bounded memos), `blobs`
(content-addressed bytes), `links` (which blobs a repository holds), `uploads` (unfinished
uploads), `manifests` (revisions and tags), `records` (the ECR settings of each repository),
`collect` (garbage and leftovers).  No part keeps module-global state: a store per (account,
region) registry is one more `Storage(root)`."""
