/**
 * What the host's loopback HTTP servers (the emulator's admin API, the
 * console) need of a request before trusting it: a Host header that names
 * loopback, and a JSON body read within a bound.
 */
import type { IncomingMessage } from "node:http"

/** A request refused with an HTTP status. */
export class HttpError extends Error {
    constructor(
        readonly status: number,
        message: string
    ) {
        super(message)
    }
}

/**
 * Whether a Host header names this server on loopback (`127.0.0.1:PORT`,
 * `localhost:PORT`, `[::1]:PORT`); anything else may be a page that a DNS
 * name of its own led here.
 */
export function isLoopbackHost(host: string | undefined, port: number) {
    const m = /^(127\.0\.0\.1|localhost|\[::1\]):(\d{1,5})$/i.exec(host ?? "")
    return !!m && Number(m[2]) === port
}

/**
 * The request body as JSON ({} when empty), at most `maxBytes`: a larger
 * declared length is refused before reading (413), a larger body as soon
 * as it passes the bound, and what was read is let go.
 */
export function readJsonBody(
    req: IncomingMessage,
    maxBytes: number
): Promise<any> {
    return new Promise((resolve, reject) => {
        const tooLarge = () =>
            new HttpError(413, `body larger than ${maxBytes} bytes`)
        if (Number(req.headers["content-length"]) > maxBytes)
            return reject(tooLarge()) // not read at all
        const chunks: Buffer[] = []
        let size = 0
        req.on("data", (c: Buffer) => {
            size += c.length
            if (size > maxBytes) {
                req.pause() // stop reading; the answer closes the connection
                req.removeAllListeners("data")
                chunks.length = 0
                return reject(tooLarge())
            }
            chunks.push(c)
        })
        req.on("error", reject)
        req.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8").trim()
            if (!text) return resolve({})
            try {
                resolve(JSON.parse(text))
            } catch {
                reject(new HttpError(400, "body is not JSON"))
            }
        })
    })
}
