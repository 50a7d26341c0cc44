/**
 * Result codes of the HTTPS device channel (the spec's two code tables) and
 * the JSON envelope every channel answer uses.
 */

/** Every code the channel answers with, and its message, as in the spec. */
export const MESSAGES: Record<number, string> = {
    0: "success",
    10000: "common error",
    10001: "param error",
    20000: "auth check error",
    20001: "token is expired",
    20002: "token is null",
    20003: "check token error",
    20004: "update session error",
    30001: "publish message error",
    40000: "request too many",
}

/**
 * The JSON text of an answer: `{"code":N,"message":"..."}` plus `info` (raw
 * JSON text, so that a 64-bit messageId can be written as a bare number) and
 * an optional human-readable `detail` on errors.
 */
export function resultJson(code: number, infoJson?: string, detail?: string) {
    let s = `{"code":${code},"message":${JSON.stringify(MESSAGES[code] ?? "common error")}`
    if (infoJson !== undefined) s += `,"info":${infoJson}`
    if (detail) s += `,"detail":${JSON.stringify(detail)}`
    return s + "}"
}
