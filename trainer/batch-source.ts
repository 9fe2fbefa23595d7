// What the training loop needs from the data pipeline: batches of content
// images and a cursor a checkpoint can save and a resumed attempt restore.
export interface Batch {
  /** RGB in [0, 255], [batch, height, width, 3], row-major. */
  data: Float32Array;
  shape: [number, number, number, number];
}

export interface BatchSource {
  next(): Promise<Batch>;
  /** Position after the last batch returned; JSON-serialisable. */
  cursor(): unknown;
  close(): Promise<void>;
}
