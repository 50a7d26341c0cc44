/**
 * Small HTTP helpers of the console: JSON answers with the console's
 * security headers, and bounded JSON request bodies.
 */
import type { IncomingMessage, ServerResponse } from "node:http"

/** The largest action body read: 16 KB. */
export const MAX_BODY_BYTES = 16 * 1024

/** A request refused with a status (413, 415, 400). */
export class BodyError extends Error {
    constructor(
        readonly status: number,
        message: string
    ) {
        super(message)
    }
}

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
export function readJsonBody(req: IncomingMessage): Promise<any> {
    return new Promise((resolve, reject) => {
        const type = (req.headers["content-type"] ?? "").split(";")[0].trim()
        if (type.toLowerCase() !== "application/json")
            return reject(new BodyError(415, "Content-Type: application/json"))
        if (Number(req.headers["content-length"]) > MAX_BODY_BYTES)
            return reject(new BodyError(413, "body too large"))
        const chunks: Buffer[] = []
        let size = 0
        req.on("data", (c: Buffer) => {
            size += c.length
            if (size > MAX_BODY_BYTES) {
                req.removeAllListeners("data")
                req.pause()
                return reject(new BodyError(413, "body too large"))
            }
            chunks.push(c)
        })
        req.on("error", reject)
        req.on("end", () => {
            const t = Buffer.concat(chunks).toString("utf8").trim()
            if (!t) return resolve({})
            try {
                resolve(JSON.parse(t))
            } catch {
                reject(new BodyError(400, "body is not JSON"))
            }
        })
    })
}
