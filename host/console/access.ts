/**
 * Who may use the console: whoever holds its access token, printed with
 * its URL (as Jupyter does). A page load carries it as `?token=`, after
 * which a cookie (HttpOnly, SameSite=Strict, named for the port) carries it
 * for the page's own reads (assets, API, events). An action (a POST) needs
 * the token in the `X-Console-Token` header: the cookie alone never
 * authorises a change, so another site cannot make the browser act
 * (CSRF). On loopback the Host header must name the loopback address and
 * port, so a page cannot reach the console through a DNS name of its own.
 */
import { randomBytes, timingSafeEqual } from "node:crypto"
import type { IncomingMessage } from "node:http"
import { isLoopbackHost } from "../lib/http-request.ts"

/** Header that carries the token on actions. */
export const TOKEN_HEADER = "x-console-token"

/** A fresh access token: 24 random bytes, hex. */
export function newToken(): string {
    return randomBytes(24).toString("hex")
}

/** Name of the token cookie of the console on `port`. */
export function cookieName(port: number): string {
    return `devs_console_${port}`
}

/** Constant-time comparison of a presented token with the real one. */
export function tokenMatches(given: string | undefined, token: string) {
    if (typeof given !== "string") return false
    const a = Buffer.from(given)
    const b = Buffer.from(token)
    return a.length === b.length && timingSafeEqual(a, b)
}

/** The value of cookie `name` in a Cookie header. */
export function cookieValue(header: string | undefined, name: string) {
    for (const part of (header ?? "").split(";")) {
        const i = part.indexOf("=")
        if (i > 0 && part.slice(0, i).trim() === name)
            return part.slice(i + 1).trim()
    }
    return undefined
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
        const h = req.headers[TOKEN_HEADER]
        if (!tokenMatches(Array.isArray(h) ? h[0] : h, o.token))
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
    const q = new URL(req.url ?? "/", "http://x").searchParams.get("token")
    const c = cookieValue(req.headers.cookie, cookieName(o.port))
    if (tokenMatches(q ?? undefined, o.token) || tokenMatches(c, o.token))
        return undefined
    return {
        status: 401,
        text: "this console needs its access token: open the URL it printed (…/?token=…)",
    }
}
