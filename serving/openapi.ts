// The OpenAPI 3.1 document served at /openapi.json. Request and error shapes
// come from the same zod schemas the handlers validate with.
import { z } from "zod";
import { ERROR_STATUS } from "./api-error.js";
import { StyleNameSchema } from "./style-map.js";

export const PutStyleBodySchema = z
  .object({ modelURI: z.string().min(1).describe("s3:// or file:// prefix of an exported model (…/model/)") })
  .strict();

const ErrorSchema = z.object({
  error: z.object({
    code: z.enum(Object.keys(ERROR_STATUS) as [string, ...string[]]),
    message: z.string(),
  }),
});

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });

const styleStatus = {
  type: "object",
  required: ["name", "modelURI", "state"],
  properties: {
    name: { type: "string" },
    modelURI: { type: "string", description: "The configured model (a replacement may still be loading)." },
    state: { type: "string", enum: ["loading", "ready", "failed"] },
    error: { type: "string", description: "Why the last load failed; it is retried." },
    loaded: {
      type: "object",
      description: "The model serving requests now.",
      properties: {
        modelURI: { type: "string" },
        style: { type: "string" },
        normalization: { type: "string", enum: ["instance", "batch"] },
        upsampling: { type: "string", enum: ["upsample-conv", "transpose"] },
        trainedSteps: { type: "integer" },
        imageSize: { type: "integer" },
        createdAt: { type: "string", format: "date-time" },
        loadedAt: { type: "string", format: "date-time" },
      },
    },
  },
} as const;

const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});

const nameParam = {
  name: "name",
  in: "path",
  required: true,
  schema: json(StyleNameSchema),
} as const;

export function openApiDocument(version: string): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: {
      title: "stylekube model server",
      version,
      description:
        "Fast style transfer (Johnson et al. 2016). Send raw image bytes, get the stylised image back. Errors are {error: {code, message}}.",
    },
    paths: {
      "/v1/styles": {
        get: {
          summary: "Styles of this server and their models",
          responses: {
            "200": {
              description: "The styles",
              content: {
                "application/json": {
                  schema: {
                    type: "object",
                    properties: {
                      styles: { type: "array", items: { $ref: "#/components/schemas/StyleStatus" } },
                    },
                  },
                },
              },
            },
          },
        },
      },
      "/v1/styles/{name}": {
        get: {
          summary: "One style",
          parameters: [nameParam],
          responses: {
            "200": {
              description: "The style",
              content: { "application/json": { schema: { $ref: "#/components/schemas/StyleStatus" } } },
            },
            "404": errorResponse("No such style"),
          },
        },
        put: {
          summary: "Add or replace a style (admin)",
          description:
            "Loads the model, then swaps it in atomically; requests in flight finish with the model they started with. On failure nothing changes. Needs `Authorization: Bearer <STYLEKUBE_ADMIN_TOKEN>` when the server has a token.",
          parameters: [nameParam],
          requestBody: {
            required: true,
            content: { "application/json": { schema: json(PutStyleBodySchema) } },
          },
          responses: {
            "200": {
              description: "Replaced",
              content: { "application/json": { schema: { $ref: "#/components/schemas/StyleStatus" } } },
            },
            "201": {
              description: "Added",
              content: { "application/json": { schema: { $ref: "#/components/schemas/StyleStatus" } } },
            },
            "400": errorResponse("Bad name or body"),
            "401": errorResponse("Missing or wrong admin token"),
            "409": errorResponse("Changed again while loading"),
            "422": errorResponse("The model could not be loaded, or too many styles"),
          },
        },
        delete: {
          summary: "Remove a style (admin)",
          parameters: [nameParam],
          responses: { "204": { description: "Removed" }, "404": errorResponse("No such style") },
        },
      },
      "/v1/styles/{name}:stylize": {
        post: {
          summary: "Stylise an image",
          description:
            "The body is the image itself (JPEG, PNG or WebP bytes), not base64 JSON. The response has the input's size (after maxSide) and the format asked for by Accept (default JPEG). Server-Timing reports decode, queue, inference and encode times.",
          parameters: [
            nameParam,
            {
              name: "maxSide",
              in: "query",
              required: false,
              description: "Downscale so the longer side is at most this many pixels before stylising.",
              schema: { type: "integer", minimum: 1 },
            },
          ],
          requestBody: {
            required: true,
            content: {
              "image/jpeg": { schema: { type: "string", format: "binary" } },
              "image/png": { schema: { type: "string", format: "binary" } },
              "image/webp": { schema: { type: "string", format: "binary" } },
              "application/octet-stream": { schema: { type: "string", format: "binary" } },
            },
          },
          responses: {
            "200": {
              description: "The stylised image",
              content: {
                "image/jpeg": { schema: { type: "string", format: "binary" } },
                "image/png": { schema: { type: "string", format: "binary" } },
                "image/webp": { schema: { type: "string", format: "binary" } },
              },
            },
            "400": errorResponse("Corrupt, unsupported or empty image, or bad maxSide"),
            "404": errorResponse("Unknown style"),
            "406": errorResponse("Accept names no supported image type"),
            "413": errorResponse("Body or pixel count over the limit"),
            "415": errorResponse("Content-Type is not a raw image"),
            "429": errorResponse("Overloaded; see Retry-After"),
            "503": errorResponse("Timed out, style still loading, or shutting down"),
          },
        },
      },
      "/v2/health/live": { get: { summary: "Liveness", responses: { "200": { description: "Alive" } } } },
      "/v2/health/ready": {
        get: {
          summary: "Readiness: every configured style is loaded",
          responses: { "200": { description: "Ready" }, "503": { description: "Not ready (styles listed)" } },
        },
      },
      "/metrics": {
        get: { summary: "Prometheus metrics", responses: { "200": { description: "Metrics" } } },
      },
    },
    components: { schemas: { StyleStatus: styleStatus, Error: json(ErrorSchema) } },
  };
}
