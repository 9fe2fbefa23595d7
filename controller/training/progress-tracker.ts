// Folds the workers' progress messages (core NATS, one subject per training)
// into what status needs, and nudges the reconciler at most once per interval
// per training, so a fast job cannot flood the API server with status writes.
import type { NatsConnection, Subscription } from "nats";
import type { StyleTrainingStatus } from "../../common/api/index.js";
import type { Logger } from "../../common/log/logger.js";
import { ProgressMessageSchema, type ProgressMessage } from "../../common/progress.js";
import { subjects } from "../../common/worker-env.js";

interface TrainingProgress {
  attempt: number;
  byRank: Map<number, ProgressMessage>;
  checkpoint?: { uri: string; step: number; time: string };
  lastNotified: number;
  timer?: NodeJS.Timeout;
}

export class ProgressTracker {
  private readonly trainings = new Map<string, TrainingProgress>();
  private sub: Subscription | undefined;
  /** Called with every accepted message (the dashboard keeps loss history and previews from them). */
  private readonly listeners: ((key: string, msg: ProgressMessage) => void)[] = [];
  messages = 0;
  rejected = 0;

  constructor(
    private readonly notify: (key: string) => void,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(nc: NatsConnection): void {
    this.sub = nc.subscribe(subjects.allProgress);
    void (async () => {
      for await (const m of this.sub!) {
        // stylekube.progress.<namespace>.<name>
        const parts = m.subject.split(".");
        if (parts.length !== 4) continue;
        this.observe(`${parts[2]}/${parts[3]}`, m.data);
      }
    })();
  }

  /** Be told of every accepted message of a current attempt, after it was folded in. */
  onMessage(listener: (key: string, msg: ProgressMessage) => void): void {
    this.listeners.push(listener);
  }

  stop(): void {
    this.sub?.unsubscribe();
    for (const t of this.trainings.values()) clearTimeout(t.timer);
  }

  /** Record one message (raw JSON bytes) for the training `namespace/name`. */
  observe(key: string, data: Uint8Array): void {
    let msg: ProgressMessage;
    try {
      msg = ProgressMessageSchema.parse(JSON.parse(new TextDecoder().decode(data)));
    } catch (err) {
      this.rejected++;
      this.log.debug({ key, err }, "ignored malformed progress message");
      return;
    }
    this.messages++;
    let t = this.trainings.get(key);
    if (!t || msg.attempt > t.attempt) {
      const previous = t?.checkpoint;
      if (t) clearTimeout(t.timer);
      t = {
        attempt: msg.attempt,
        byRank: new Map(),
        lastNotified: 0,
        ...(previous ? { checkpoint: previous } : {}),
      };
      this.trainings.set(key, t);
    }
    if (msg.attempt < t.attempt) return; // a straggler from an attempt already replaced
    t.byRank.set(msg.rank, msg);
    if (msg.checkpoint && (!t.checkpoint || msg.checkpoint.step >= t.checkpoint.step)) {
      t.checkpoint = { ...msg.checkpoint, time: msg.time };
    }
    this.schedule(key, t);
    for (const listener of this.listeners) {
      try {
        listener(key, msg);
      } catch (err) {
        // A listener's bug must not stop status updates.
        this.log.error({ key, err }, "progress listener threw");
      }
    }
  }

  private schedule(key: string, t: TrainingProgress): void {
    if (t.timer) return;
    const wait = Math.max(0, t.lastNotified + this.intervalMs - Date.now());
    t.timer = setTimeout(() => {
      t.timer = undefined;
      t.lastNotified = Date.now();
      this.notify(key);
    }, wait);
    t.timer.unref();
  }

  /** Status fields for the given attempt, or undefined when nothing was heard yet. */
  summary(
    key: string,
    attempt: number,
    globalBatch: number,
  ): Pick<StyleTrainingStatus, "progress" | "lastCheckpoint"> | undefined {
    const t = this.trainings.get(key);
    if (!t) return undefined;
    const out: Pick<StyleTrainingStatus, "progress" | "lastCheckpoint"> = {};
    if (t.checkpoint) out.lastCheckpoint = t.checkpoint;
    if (t.attempt !== attempt || t.byRank.size === 0) return out;
    const msgs = [...t.byRank.values()];
    const step = Math.max(...msgs.map((m) => m.step));
    const atStep = msgs.filter((m) => m.step === step);
    const totalSteps = msgs[0]!.totalSteps;
    const imagesPerSecond = msgs.reduce((s, m) => s + m.imagesPerSecond, 0);
    const mean = (f: (m: ProgressMessage) => number) => atStep.reduce((s, m) => s + f(m), 0) / atStep.length;
    const stepsPerSecond = imagesPerSecond / Math.max(1, globalBatch);
    out.progress = {
      step,
      totalSteps,
      percent: Math.round((step / totalSteps) * 1000) / 10,
      imagesPerSecond: Math.round(imagesPerSecond * 100) / 100,
      ...(stepsPerSecond > 0 ? { etaSeconds: Math.round((totalSteps - step) / stepsPerSecond) } : {}),
      loss: {
        total: mean((m) => m.loss.total),
        content: mean((m) => m.loss.content),
        style: mean((m) => m.loss.style),
        tv: mean((m) => m.loss.tv),
      },
    };
    return out;
  }

  forget(key: string): void {
    const t = this.trainings.get(key);
    if (t) clearTimeout(t.timer);
    this.trainings.delete(key);
  }
}
