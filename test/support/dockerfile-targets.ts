// The project's one Dockerfile read as its targets: each image is a stage
// that may start FROM another stage, so what an image is = its chain of
// stages, oldest first. Used by the Dockerfile's unit test and by the test
// that assembles and runs each image's runtime without a Docker engine.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { DockerfileParser, type Instruction } from "dockerfile-ast";
import { REPO_ROOT } from "../env/env-file.js";

export const DOCKERFILE = "Dockerfile";

export interface Stage {
  name: string;
  /** What its FROM names: an image (`${NODE_IMAGE}`) or an earlier stage. */
  from: string;
  instructions: Instruction[];
}

/** The stages of the Dockerfile, in order, keyed by their `AS` name. */
export function dockerfileStages(path = DOCKERFILE): Map<string, Stage> {
  const parsed = DockerfileParser.parse(readFileSync(resolve(REPO_ROOT, path), "utf8"));
  const stages = new Map<string, Stage>();
  let current: Stage | undefined;
  for (const i of parsed.getInstructions()) {
    if (i.getKeyword() === "FROM") {
      const args = i.getArguments().map((a) => a.getValue());
      const name = args[2] ?? `#${stages.size}`;
      current = { name, from: args[0] ?? "", instructions: [] };
      stages.set(name, current);
    } else if (current !== undefined) {
      current.instructions.push(i);
    }
  }
  return stages;
}

/** The stages a target is made of, its first ancestor (the one FROM an image) first. */
export function targetChain(target: string, stages = dockerfileStages()): Stage[] {
  const chain: Stage[] = [];
  for (let stage = stages.get(target); stage !== undefined; stage = stages.get(stage.from)) {
    if (chain.includes(stage)) throw new Error(`Dockerfile: stage ${stage.name} starts FROM itself`);
    chain.unshift(stage);
  }
  if (chain.length === 0) throw new Error(`Dockerfile: no stage named ${target}`);
  return chain;
}

/** Every instruction that makes `target`, in the order the build runs them. */
export function targetInstructions(target: string, stages = dockerfileStages()): Instruction[] {
  return targetChain(target, stages).flatMap((s) => s.instructions);
}

/** The target's instructions as text, one per line (for pattern checks). */
export function targetText(target: string, stages = dockerfileStages()): string {
  return targetInstructions(target, stages)
    .map((i) => i.getTextContent())
    .join("\n");
}
