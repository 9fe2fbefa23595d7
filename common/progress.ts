// What workers publish on NATS after each reported step, and what the
// operator (status, dashboard) consumes. Core NATS, JSON, one subject per
// training: see `subjects.progress` in worker-env.ts.
import { z } from "zod";
import { LossTermsSchema } from "./api/style-training.js";
import { PREVIEW_PHOTO_NAME } from "./storage/training-layout.js";

export const ProgressMessageSchema = z.object({
  jobId: z.string(),
  attempt: z.int().min(1),
  rank: z.int().min(0),
  step: z.int().min(0),
  totalSteps: z.int().min(1),
  /** Images per second of this worker. */
  imagesPerSecond: z.number().min(0),
  loss: LossTermsSchema,
  /** Set by rank 0 when a checkpoint's manifest has been written. */
  checkpoint: z.object({ uri: z.string(), step: z.int().min(0) }).optional(),
  /**
   * Set by rank 0 when the previews of a checkpoint were written: the
   * held-out photos (names per common/storage/training-layout.ts) stylised at
   * `step`, under the prefix `uri`.
   */
  preview: z
    .object({
      uri: z.string(),
      step: z.int().min(0),
      photos: z.array(z.string().regex(PREVIEW_PHOTO_NAME)).max(16),
    })
    .optional(),
  time: z.iso.datetime({ offset: true }),
});
export type ProgressMessage = z.infer<typeof ProgressMessageSchema>;
