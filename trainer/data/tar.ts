// Tar shards, WebDataset-style: one member `<key>.jpg` per sample, in order.
// Headers are fixed (mtime 0, uid/gid 0, mode 0644) so the same samples give
// byte-identical shards — and the same sha256 — on every run and machine.
import type { Readable } from "node:stream";
import * as tar from "tar-stream";
import { SAMPLE_EXTENSION } from "./format.js";

export interface TarSample {
  key: string;
  bytes: Buffer;
}

const FIXED_MTIME = new Date(0);

/** The whole shard as one Buffer (the packer holds a shard in memory anyway, to hash it before upload). */
export async function buildShard(samples: readonly TarSample[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const s of samples) {
    await new Promise<void>((resolve, reject) =>
      pack.entry(
        {
          name: `${s.key}${SAMPLE_EXTENSION}`,
          size: s.bytes.length,
          mtime: FIXED_MTIME,
          mode: 0o644,
          uid: 0,
          gid: 0,
          uname: "",
          gname: "",
        },
        s.bytes,
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export interface ShardSample {
  /** Position of the sample inside its shard (0-based, counting `.jpg` members only). */
  index: number;
  key: string;
  bytes: Buffer;
}

/**
 * Samples of a tar stream in order. Members before `from` are skipped
 * without being buffered (a resumed reader starts mid-shard); reading stops
 * after member `to - 1`. Members that are not `.jpg` (directories, extra
 * WebDataset fields) are ignored.
 */
export async function* readShard(
  stream: Readable,
  from = 0,
  to = Number.POSITIVE_INFINITY,
): AsyncGenerator<ShardSample> {
  const extract = tar.extract();
  stream.on("error", (e) => extract.destroy(e));
  stream.pipe(extract);
  let index = 0;
  try {
    for await (const entry of extract) {
      const name = entry.header.name;
      const isSample = entry.header.type === "file" && name.endsWith(SAMPLE_EXTENSION);
      if (!isSample || index < from) {
        for await (const _chunk of entry) {
          // drained, not kept
        }
        if (isSample) index++;
        continue;
      }
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      yield { index, key: name.slice(0, -SAMPLE_EXTENSION.length), bytes: Buffer.concat(chunks) };
      index++;
      if (index >= to) return;
    }
  } finally {
    stream.unpipe(extract);
    stream.destroy();
    extract.destroy();
  }
}
