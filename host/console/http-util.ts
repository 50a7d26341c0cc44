/**
 * Small HTTP helpers of the console: JSON answers with the console's
 * security headers, and bounded JSON request bodies.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import {
    HttpError,
    readJsonBody as readBoundedJson,
} from "../lib/http-request.ts"

/** The largest action body read: 16 KB. */
export const MAX_BODY_BYTES = 16 * 1024

/**
 * Headers on every answer: scripts, styles and connections from this
 * origin only, no framing, no referrer (the page URL holds the token), no
 * caching.
 */
export const SECURITY_HEADERS = {
    "Content-Security-Policy":
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

/** Sends `body` with `type` and the security headers. */
export function send(
    res: ServerResponse,
    status: number,
    type: string,
    body: string | Buffer,
    extra: Record<string, string> = {}
) {
    const buf = typeof body === "string" ? Buffer.from(body, "utf8") : body
    res.writeHead(status, {
        ...SECURITY_HEADERS,
        "Content-Type": type,
        "Content-Length": buf.length,
        ...extra,
    })
    res.end(buf)
}

/** Sends `value` as JSON. */
export function sendJson(res: ServerResponse, status: number, value: unknown) {
    send(res, status, "application/json; charset=utf-8", JSON.stringify(value))
}

/** The request body as JSON ({} when empty): JSON only, at most MAX_BODY_BYTES. */
export async function readJsonBody(req: IncomingMessage): Promise<any> {
    const type = (req.headers["content-type"] ?? "").split(";")[0].trim()
    if (type.toLowerCase() !== "application/json")
        throw new HttpError(415, "Content-Type: application/json")
    return readBoundedJson(req, MAX_BODY_BYTES)
}
