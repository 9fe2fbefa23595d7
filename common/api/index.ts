// stylekube.io/v1alpha1: the API types and schemas, shared by the operator,
// the trainer and the server.
export * from "./style-training.js";
export * from "./style-server.js";
export * from "./validate.js";
export * from "./conditions.js";
export * from "./pod-template.js";
export * from "./owned-objects.js";
export * from "./server-metadata.js";
export { formatFieldPath, type FieldError } from "./kubernetes-errors.js";
export { ENGINES, type Engine, type Condition } from "./fields.js";
