export { featureReconstructionLoss } from "./feature-reconstruction.js";
export {
  computeStyleTargets,
  disposeStyleTargets,
  gramMatrix,
  styleReconstructionLoss,
  type StyleTargets,
} from "./style-reconstruction.js";
export { totalVariationLoss } from "./total-variation.js";
export {
  type LossLayers,
  type LossTerms,
  type LossValues,
  type LossWeights,
  lossValues,
  styleTransferLoss,
  totalLoss,
} from "./perceptual-loss.js";
