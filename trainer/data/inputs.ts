// Inputs of `dataset pack`: a folder (walked recursively) or a zip archive
// (COCO ships train2014.zip). Both are listed up front — names and sizes
// only, no pixels — and sorted by name, so the order (and therefore which
// file lands in which shard) is the same on every run: that is what lets an
// interrupted pack resume by shard number.
import { open as openFile, readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import yauzl from "yauzl";
import { readAll } from "../../common/storage/index.js";

export interface InputFile {
  /** Relative path ('/'-separated) or zip member name; unique within the input. */
  name: string;
  size: number;
  read(): Promise<Buffer>;
}

export interface InputSet {
  kind: "folder" | "zip";
  files: InputFile[];
  close(): Promise<void>;
}

/** Hidden files and macOS resource forks are never photos; everything else is tried (and skipped with a reason if it is not an image). */
function ignored(name: string): boolean {
  return name.split("/").some((seg) => seg.startsWith(".") || seg === "__MACOSX");
}

function byName(a: InputFile, b: InputFile): number {
  // Code-unit order, not locale order: identical on every machine.
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

async function listFolder(root: string): Promise<InputSet> {
  const files: InputFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const d of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, d.name);
      const name = relative(root, path).split(sep).join("/");
      if (ignored(name)) continue;
      if (d.isDirectory()) await walk(path);
      else if (d.isFile() || d.isSymbolicLink()) {
        const st = await stat(path).catch(() => undefined);
        if (!st?.isFile()) continue;
        files.push({
          name,
          size: st.size,
          read: async () => {
            const fh = await openFile(path, "r");
            try {
              return await fh.readFile();
            } finally {
              await fh.close();
            }
          },
        });
      }
    }
  };
  await walk(root);
  files.sort(byName);
  return { kind: "folder", files, close: async () => undefined };
}

function openZip(path: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(path, { lazyEntries: true, autoClose: false, validateEntrySizes: true }, (err, zip) =>
      err ? reject(err) : resolve(zip),
    ),
  );
}

async function listZip(path: string): Promise<InputSet> {
  const zip = await openZip(path);
  const entries = await new Promise<yauzl.Entry[]>((resolve, reject) => {
    const all: yauzl.Entry[] = [];
    zip.on("entry", (e: yauzl.Entry) => {
      all.push(e);
      zip.readEntry();
    });
    zip.on("end", () => resolve(all));
    zip.on("error", reject);
    zip.readEntry();
  });
  const files: InputFile[] = entries
    .filter((e) => !e.fileName.endsWith("/") && !ignored(e.fileName))
    .map((e) => ({
      name: e.fileName,
      size: e.uncompressedSize,
      read: () =>
        new Promise<Buffer>((resolve, reject) =>
          zip.openReadStream(e, (err, stream) => (err ? reject(err) : readAll(stream).then(resolve, reject))),
        ),
    }));
  files.sort(byName);
  return { kind: "zip", files, close: async () => zip.close() };
}

/** List a folder or a `.zip` file. */
export async function openInputs(path: string): Promise<InputSet> {
  const st = await stat(path);
  if (st.isDirectory()) return listFolder(path);
  if (st.isFile()) return listZip(path);
  throw new Error(`${path} is neither a folder nor a zip file`);
}
