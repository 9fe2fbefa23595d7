// `stylekube worker`: one data-parallel training worker. Everything comes
// from the worker environment contract (common/worker-env.ts), whether the
// operator started it in a pod or `stylekube train --local` as a process.
//
// Per step: forward + backward on this rank's batch, allreduce-mean of the
// flattened gradient over NATS (every rank ends with bit-identical averages),
// Adam update. Rank 0 writes checkpoints (manifest last) and previews; every
// rank publishes progress. A new attempt resumes from the newest complete
// checkpoint that rank 0 finds and broadcasts.
import { createHash } from "node:crypto";
import * as tf from "@tensorflow/tfjs-core";
import type { NatsConnection } from "nats";
import type { StyleTrainingSpec } from "../common/api/index.js";
import { rgbToFloat } from "../common/images/codec.js";
import { createLogger, type Logger } from "../common/log/logger.js";
import type { ProgressMessage } from "../common/progress.js";
import { openStore, storeOptionsFromEnv, type ObjectStore } from "../common/storage/index.js";
import { checkpointPrefix } from "../common/storage/training-layout.js";
import { readWorkerEnv, subjects, WORKER_ENV, type WorkerEnv } from "../common/worker-env.js";
import { PERMANENT_FAILURE_EXIT_CODE, writeTerminationMessage } from "../common/worker-exit.js";
import type { BatchSource } from "./batch-source.js";
import {
  latestCheckpoint,
  loadCheckpoint,
  pruneCheckpoints,
  saveCheckpoint,
} from "./checkpoint/checkpoints.js";
import { Collective } from "./collectives/index.js";
import { connectNats } from "./collectives/options.js";
import { doctorReport } from "./engine/doctor.js";
import { gpuNotUsedMessage } from "./engine/gpu-use.js";
import { initEngine } from "./engine/engines.js";
import { exportModel } from "../model/model-export.js";
import { loadVgg16 } from "./loss-network/load.js";
import { disposeStyleTargets } from "./losses/style-reconstruction.js";
import { flattenTensors, unflattenTensors } from "../model/parameters.js";
import { TransformerNet } from "../model/transformer-net.js";
import { loadInitialModel } from "./initial-model.js";
import { checkInputs, PermanentInputError } from "./input-check.js";
import { readUri } from "./read-uri.js";
import { learningRateAt } from "./optimizer/learning-rate-schedule.js";
import { loadPreviewPhotos, type PreviewPhoto } from "./previews/preview-photos.js";
import { writePreviewOriginals } from "./previews/write-previews.js";
import { stepEngineFor } from "./step/step-engine.js";
import { applyGradients, createOptimizer, type TrainStepSetup } from "./train-step.js";

export interface WorkerDeps {
  /** Opens this rank's batches, continuing from a checkpoint's cursor when given. */
  openBatches: (args: {
    store: ObjectStore;
    spec: StyleTrainingSpec;
    rank: number;
    worldSize: number;
    cursor: unknown;
  }) => Promise<BatchSource>;
  store?: ObjectStore;
  log?: Logger;
  /** Deadline of one allreduce (must cover a checkpoint write on rank 0). */
  stepTimeoutMs?: number;
}

export async function runWorker(env: WorkerEnv, deps: WorkerDeps): Promise<void> {
  const { spec, rank, worldSize, attempt } = env;
  const log = (deps.log ?? createLogger("worker")).child({ job: env.jobId, attempt, rank });
  const hp = spec.hyperparameters;
  const store = deps.store ?? openStore(storeOptionsFromEnv());
  // Before the engine, NATS and VGG-16: a missing input fails here, for good.
  const inputs = await checkInputs(store, spec);
  const engines = await doctorReport();
  log.info({ engines }, "compute engines on this machine (stylekube doctor)");
  const engine = await initEngine(spec.engine, { wasmThreads: env.wasmThreads ?? 1 });
  const gpuNotUsed = gpuNotUsedMessage(spec.resources.gpu, engine, engines);
  if (gpuNotUsed !== undefined) log.warn(gpuNotUsed);
  const stepEngine = stepEngineFor(engine);
  log.info(
    { engine: engine.engine, backend: engine.backend, threads: engine.threads, worldSize },
    "worker starting",
  );

  const nc: NatsConnection = await connectNats({
    url: env.natsUrl,
    token: env.natsToken,
    user: env.natsUser,
    pass: env.natsPassword,
    credsFile: env.natsCredsFile,
    name: `stylekube-${env.name}-a${attempt}-w${rank}`,
  });
  const collective = await Collective.join({
    nc,
    jobId: env.jobId,
    attempt,
    rank,
    worldSize,
    stepTimeoutMs: deps.stepTimeoutMs ?? 300_000,
    logger: log,
  });
  let batches: BatchSource | undefined;
  try {
    // The loss network and the style targets, once per job.
    const vgg = await loadVgg16({
      weights: spec.lossNetwork.weights,
      format: spec.lossNetwork.format,
      convention: spec.lossNetwork.convention,
      random: spec.lossNetwork.random,
      readUri: (uri) => readUri(store, uri),
    });
    const styleImage = {
      data: rgbToFloat(inputs.styleRgb),
      height: inputs.styleRgb.height,
      width: inputs.styleRgb.width,
    };
    const styleTargets = await stepEngine.styleTargets(vgg, styleImage, hp.styleLayers);
    const net = new TransformerNet({
      normalization: hp.normalization,
      upsampling: hp.upsampling,
      seed: hp.seed,
    });
    const optimizer = createOptimizer(hp.learningRate);
    const setup: TrainStepSetup = {
      net,
      vgg,
      styleTargets,
      layers: { content: hp.contentLayer, style: hp.styleLayers },
      weights: { content: hp.contentWeight, style: hp.styleWeight, tv: hp.tvWeight },
    };

    // Resume: rank 0 picks the checkpoint and tells everyone which, so all
    // ranks load the same one even if another appears meanwhile.
    const choice = new Float32Array(1);
    if (rank === 0) choice[0] = (await latestCheckpoint(store, spec.output))?.step ?? -1;
    await collective.broadcast(choice, 0);
    let step = 0;
    let cursor: unknown = undefined;
    if (choice[0]! >= 0) {
      const uri = checkpointPrefix(spec.output, choice[0]!);
      const state = await loadCheckpoint(store, uri, net.params, optimizer);
      step = state.step;
      cursor = state.cursor;
      log.info({ checkpoint: uri, step }, "resumed from checkpoint");
    } else {
      if (rank === 0 && spec.initialModel !== undefined) {
        const from = await loadInitialModel(store, spec.initialModel, net, hp);
        log.info(
          { initialModel: spec.initialModel, trainedSteps: from.trainedSteps },
          "weights from initial model",
        );
      }
      // Same seed gives the same weights everywhere (rank 0's initial model
      // where there is one); broadcasting makes it a guarantee.
      const flat = await flattenTensors(net.params);
      await collective.broadcast(flat, 0);
      const values = unflattenTensors(flat, net.params);
      for (const [name, v] of net.params) v.assign(values.get(name)!);
      tf.dispose([...values.values()]);
    }
    batches = await deps.openBatches({ store, spec, rank, worldSize, cursor });
    const gradientStep = stepEngine.gradientStep(setup, { batchSize: hp.batchSize, imageSize: hp.imageSize });

    // Held-out photos for the dashboard's slider: rank 0 only, read once per attempt.
    let previewPhotos: PreviewPhoto[] = [];
    if (rank === 0) {
      previewPhotos = await loadPreviewPhotos({
        store,
        previews: spec.previews,
        dataset: spec.dataset,
        readUri: (uri) => readUri(store, uri),
        log,
      });
      await writePreviewOriginals(store, spec.output, previewPhotos);
      log.info({ photos: previewPhotos.map((p) => p.uri) }, "preview photos");
    }
    let windowStart = performance.now();
    let windowImages = 0;
    let lastPublish = 0;
    let lastLoss: ProgressMessage["loss"] | undefined;
    while (step < hp.iterations) {
      const batch = await batches.next();
      const { loss, flat } = await gradientStep.computeGradients(batch);
      lastLoss = loss;
      step++;
      await collective.allreduceMean(flat, step);
      optimizer.learningRate = learningRateAt(step, hp);
      applyGradients(net, optimizer, unflattenTensors(flat, net.params));
      windowImages += batch.shape[0];

      let checkpoint: ProgressMessage["checkpoint"];
      let previewRef: ProgressMessage["preview"];
      const atCheckpoint = step % spec.checkpoint.everySteps === 0 || step === hp.iterations;
      if (rank === 0 && atCheckpoint) {
        const uri = await saveCheckpoint(store, spec.output, {
          step,
          attempt,
          seed: hp.seed,
          params: net.params,
          optimizer,
          cursor: batches.cursor(),
        });
        await pruneCheckpoints(store, spec.output, spec.checkpoint.keep);
        checkpoint = { uri, step };
        if (previewPhotos.length > 0)
          previewRef = await stepEngine.writePreviews(store, spec.output, net, previewPhotos, step);
        log.info({ step, checkpoint: uri }, "checkpoint written");
      }
      const now = performance.now();
      if (checkpoint || now - lastPublish > 1000 || step === hp.iterations) {
        const seconds = (now - windowStart) / 1000;
        const message: ProgressMessage = {
          jobId: env.jobId,
          attempt,
          rank,
          step,
          totalSteps: hp.iterations,
          imagesPerSecond: seconds > 0 ? windowImages / seconds : 0,
          loss,
          time: new Date().toISOString(),
          ...(checkpoint ? { checkpoint } : {}),
          ...(previewRef ? { preview: previewRef } : {}),
        };
        nc.publish(subjects.progress(env.namespace, env.name), JSON.stringify(message));
        lastPublish = now;
        windowStart = now;
        windowImages = 0;
      }
    }

    if (rank === 0) {
      const uri = await exportModel(store, spec.output, net, {
        trainedSteps: step,
        style: spec.style,
        imageSize: hp.imageSize,
        specHash: createHash("sha256").update(JSON.stringify(spec)).digest("hex"),
        ...(lastLoss ? { finalLoss: lastLoss } : {}),
      });
      log.info({ model: uri, steps: step }, "model exported");
    }
    // Nobody leaves before the model is written: a peer's exit would look like a failure.
    await collective.barrier("done");
    await gradientStep.dispose();
    disposeStyleTargets(styleTargets);
    vgg.dispose();
    net.dispose();
  } finally {
    await batches?.close();
    await collective.close();
    await nc.drain().catch(() => undefined);
  }
}

/** Entry point of `stylekube worker`: 0, PERMANENT_FAILURE_EXIT_CODE when retrying cannot help, else 1. */
export async function workerMain(deps: Pick<WorkerDeps, "openBatches">): Promise<number> {
  const log = createLogger("worker");
  const terminationMessagePath = process.env[WORKER_ENV.terminationMessagePath];
  let env: WorkerEnv;
  try {
    env = readWorkerEnv();
  } catch (err) {
    // The same variables would fail the same way on every attempt.
    const message = (err as Error).message;
    log.error({ err: message }, "cannot start");
    writeTerminationMessage(terminationMessagePath, message);
    return PERMANENT_FAILURE_EXIT_CODE;
  }
  try {
    await runWorker(env, {
      ...deps,
      log,
      stepTimeoutMs: Number(process.env.STYLEKUBE_STEP_TIMEOUT_MS ?? 300_000),
    });
    return 0;
  } catch (err) {
    const permanent = err instanceof PermanentInputError;
    log.error(
      {
        err: err instanceof Error ? { message: err.message, name: err.name } : String(err),
        ...(permanent ? { field: err.field, uri: err.uri, permanent } : {}),
      },
      permanent ? "worker failed: an input no retry can fix" : "worker failed",
    );
    writeTerminationMessage(terminationMessagePath, err instanceof Error ? err.message : String(err));
    return permanent ? PERMANENT_FAILURE_EXIT_CODE : 1;
  }
}
