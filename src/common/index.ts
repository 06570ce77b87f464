// Small helpers every layer may use; they depend on nothing but Node.

export { fsyncDirectory, readJsonIfExists, removeStaleTemporaries, writeFileAtomic, writeJsonAtomic } from './atomic-file.js';
export { backoffDelay, type BackoffRange } from './backoff.js';
export { acquirePidLock, pidLockOwner } from './pid-lock.js';
export { processAlive } from './process.js';
export { SerialQueue } from './serial-queue.js';
export { DEFAULT_SPACE_RESERVE_BYTES, isNoSpace, registerSpaceReserve, SpaceReserve, spaceReserveFor } from './space-reserve.js';
export {
  Supervisor,
  UnitExistsError,
  UnknownUnitError,
  type DesiredState,
  type RunningUnit,
  type SupervisorOptions,
  type Unit,
  type UnitState,
  type UnitStatus,
} from './supervisor.js';
