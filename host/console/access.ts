/**
 * Who may use the console: whoever holds its access token, printed with
 * its URL (as Jupyter does). The page load carries it as `?token=`; the
 * page then sends it in the `X-Console-Token` header on each of its own
 * requests (reads, the event stream, actions). No cookie: browsers send a
 * cookie of 127.0.0.1 to every port of 127.0.0.1, so any other local
 * server would receive it. A header is sent only where the page's own
 * script sends it, and another site cannot add it (CSRF). The query token
 * opens the page and nothing else. Scripts and styles (the same for
 * everyone, no state) need no token. On loopback the Host header must
 * name the loopback address and port, so a page cannot reach the console
 * through a DNS name of its own.
 */
import { randomBytes, timingSafeEqual } from "node:crypto"
import type { IncomingMessage } from "node:http"
import { isLoopbackHost } from "../lib/http-request.ts"

/** Header that carries the token on every request of the page. */
export const TOKEN_HEADER = "x-console-token"

/** Where the public assets are served. */
export const ASSET_PREFIX = "/static/"

/** A fresh access token: 24 random bytes, hex. */
export function newToken(): string {
    return randomBytes(24).toString("hex")
}

/** Constant-time comparison of a presented token with the real one. */
export function tokenMatches(given: string | undefined, token: string) {
    if (typeof given !== "string") return false
    const a = Buffer.from(given)
    const b = Buffer.from(token)
    return a.length === b.length && timingSafeEqual(a, b)
}

function headerToken(req: IncomingMessage) {
    const h = req.headers[TOKEN_HEADER]
    return Array.isArray(h) ? h[0] : h
}

/** Why a request is refused (status and text), or undefined when allowed. */
export function refusal(
    req: IncomingMessage,
    o: { token: string; port: number; loopback: boolean }
): { status: number; text: string } | undefined {
    if (o.loopback && !isLoopbackHost(req.headers.host, o.port))
        return {
            status: 403,
            text: `the Host header must be 127.0.0.1:${o.port}, localhost:${o.port} or [::1]:${o.port}`,
        }
    if (req.method === "POST") {
        if (!tokenMatches(headerToken(req), o.token))
            return {
                status: 403,
                text: `an action needs the access token in the ${TOKEN_HEADER} header`,
            }
        const origin = req.headers.origin
        if (
            origin &&
            !isLoopbackHost(origin.replace(/^http:\/\//, ""), o.port) &&
            o.loopback
        )
            return { status: 403, text: "cross-origin action refused" }
        return undefined
    }
    if (req.method !== "GET" && req.method !== "HEAD")
        return { status: 405, text: "GET or POST only" }
    const u = new URL(req.url ?? "/", "http://x")
    if (u.pathname.startsWith(ASSET_PREFIX)) return undefined
    if (tokenMatches(headerToken(req), o.token)) return undefined
    if (
        u.pathname === "/" &&
        tokenMatches(u.searchParams.get("token") ?? undefined, o.token)
    )
        return undefined
    return {
        status: 401,
        text: "this console needs its access token: open the URL it printed (…/?token=…)",
    }
}
