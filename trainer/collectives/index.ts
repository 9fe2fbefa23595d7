// Public surface of the collectives: the Collective communicator, its options
// and errors. Codec and chunking helpers are exported for tests and tools.
export { Collective, type CollectiveStats, type JoinOptions } from "./collective.js";
export {
  CollectiveError,
  ConnectionClosedError,
  PeerLeftError,
  ProtocolError,
  RendezvousTimeoutError,
  StepTimeoutError,
} from "./errors.js";
export {
  CollectiveOptionsSchema,
  NatsOptionsSchema,
  connectNats,
  natsConnectionOptions,
  type CollectiveOptions,
  type NatsOptions,
} from "./options.js";
export { attemptSubjects, jobToken } from "./subjects.js";
export { sliceOf, chunksOf, chunkElementsFor } from "./chunking.js";
