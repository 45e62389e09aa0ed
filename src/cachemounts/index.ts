// Cache-mount state across runners, in three layers that restore.ts (main step, before the build)
// and save.ts (post step) orchestrate:
// - archive/: reading (strictly), normalising and writing tar archives, and where entries sit;
// - store/: the Actions cache entries (keys, full entries and deltas, manifests, pruning rule);
// - transport/: getting an archive into and out of a builder node (loopback or build context,
//   helper roots, the helper builds' Dockerfiles).
// discover.ts finds the mounts a Dockerfile uses. docs/development.md draws who calls whom.
export type { CacheRestoreState, MountState, TransferOptions } from './mount-state.ts';
export { DEFAULT_CACHE_TIMEOUT_MS } from './mount-state.ts';
export { restoreCacheMounts } from './restore.ts';
export { saveCacheMounts, type MountSaveResult } from './save.ts';
