// Which pods are a StyleTraining's workers: the reconciler and the dashboard
// both ask isWorkerOf, which needs the name label and the owner's uid (a
// recreated training of the same name must not show or count the old pods).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type * as k8s from "@kubernetes/client-node";
import { LABELS } from "../../../common/api/index.js";
import { isWorkerOf, trainingOwnerReference } from "../../../controller/training/ownership.js";

const training = { metadata: { namespace: "ns", name: "mosaic", uid: "uid-2" } };

function pod(opts: { namespace?: string; name?: string; ownerUid?: string }): k8s.V1Pod {
  return {
    metadata: {
      name: "mosaic-a1-w0",
      namespace: opts.namespace ?? "ns",
      labels: opts.name === undefined ? {} : { [LABELS.training]: opts.name },
      ownerReferences: opts.ownerUid === undefined ? [] : [trainingOwnerReference("mosaic", opts.ownerUid)],
    },
  };
}

describe("isWorkerOf", () => {
  it("takes a pod labelled with the training's name and owned by its uid", () => {
    assert.equal(isWorkerOf(pod({ name: "mosaic", ownerUid: "uid-2" }), training), true);
  });

  it("refuses the pods of an earlier object of the same name", () => {
    assert.equal(isWorkerOf(pod({ name: "mosaic", ownerUid: "uid-1" }), training), false);
  });

  it("refuses unowned, differently labelled and other-namespace pods", () => {
    assert.equal(isWorkerOf(pod({ name: "mosaic" }), training), false);
    assert.equal(isWorkerOf(pod({ name: "other", ownerUid: "uid-2" }), training), false);
    assert.equal(
      isWorkerOf(pod({ namespace: "elsewhere", name: "mosaic", ownerUid: "uid-2" }), training),
      false,
    );
  });

  it("refuses everything for an object without a uid", () => {
    const { uid: _uid, ...metadata } = training.metadata;
    assert.equal(isWorkerOf(pod({ name: "mosaic", ownerUid: "uid-2" }), { metadata }), false);
  });
});
