import * as ds from "@devicescript/core"

/** What the platform answered, extracted from its JSON body. */
export interface PlatformResult {
    code: number
    message: string
    /** `info.token` from `/auth` (checked: visible ASCII, 1..128 chars). */
    token?: string
    /** `info.messageId` as its exact decimal digits (it exceeds 2^53). */
    messageId?: string
}

/** Bodies longer than this are refused before JSON.parse. */
export const MAX_PARSE_BYTES = 4096
/**
 * Deeper JSON is refused before JSON.parse: the native parser recurses and a
 * few hundred levels overflow the stack and abort the VM.
 */
export const MAX_JSON_DEPTH = 8
/** Longest token accepted (it is kept in a setting and sent as a header). */
export const MAX_TOKEN_LENGTH = 128

function fail(msg: string): Error {
    return new Error(`platform: ${msg}`)
}

/**
 * Maximum nesting of `{`/`[` in JSON text, ignoring brackets inside
 * strings; stops counting once `limit` is exceeded. Yields every 256
 * characters: a 4 KB scan in one go exceeds the VM's step budget.
 */
export async function jsonDepth(text: string, limit: number): Promise<number> {
    let depth = 0
    let max = 0
    const n = text.length
    let i = 0
    let nextYield = 256
    while (i < n) {
        if (i >= nextYield) {
            await ds.sleep(0)
            nextYield = i + 256
        }
        const c = text.charCodeAt(i)
        if (c === 34) {
            // skip the string: find the closing quote not escaped by a backslash
            let j = i + 1
            for (let q = 1; ; q++) {
                if ((q & 127) === 0) await ds.sleep(0) // many escaped quotes
                j = text.indexOf('"', j)
                if (j < 0) return max // unterminated: JSON.parse reports it
                let bs = 0
                let k = j - 1
                while (k > i && text.charCodeAt(k) === 92) {
                    bs++
                    k--
                }
                if ((bs & 1) === 0) break
                j++
            }
            i = j + 1
            continue
        }
        if (c === 123 || c === 91) {
            depth++
            if (depth > max) {
                max = depth
                if (max > limit) return max
            }
        } else if (c === 125 || c === 93) depth--
        i++
    }
    return max
}

function isSpace(c: number) {
    return c === 32 || c === 9 || c === 10 || c === 13
}

function isDigit(c: number) {
    return c >= 48 && c <= 57
}

/**
 * The exact digits of `messageId` in the raw JSON text. `parsed` is the
 * value JSON.parse produced (a rounded double, or a string); the raw digits
 * are located at a real key position (after `{` or `,`) and must round to
 * that same value. Throws on a non-integer, a negative number, or two
 * different candidates.
 */
export function findMessageId(text: string, parsed: any): string {
    if (typeof parsed === "string") {
        const s = parsed as string
        if (!s.length || s.length > 20)
            throw fail(`bad messageId '${s.slice(0, 24)}'`)
        for (let i = 0; i < s.length; i++)
            if (!isDigit(s.charCodeAt(i)))
                throw fail(
                    `messageId '${s.slice(0, 24)}' is not decimal digits`
                )
        return s
    }
    if (
        typeof parsed !== "number" ||
        !(parsed >= 0) ||
        Math.floor(parsed) !== parsed
    )
        throw fail(`messageId is not a non-negative integer`)
    const KEY = '"messageId"'
    let found: string = null
    let p = text.indexOf(KEY)
    while (p >= 0) {
        let b = p - 1
        while (b >= 0 && isSpace(text.charCodeAt(b))) b--
        const before = b >= 0 ? text.charCodeAt(b) : 0
        let i = p + KEY.length
        while (i < text.length && isSpace(text.charCodeAt(i))) i++
        if ((before === 123 || before === 44) && text.charCodeAt(i) === 58) {
            i++
            while (i < text.length && isSpace(text.charCodeAt(i))) i++
            const start = i
            while (i < text.length && isDigit(text.charCodeAt(i))) i++
            const end = text.charCodeAt(i)
            if (
                i > start &&
                i - start <= 20 &&
                (isSpace(end) || end === 44 || end === 125)
            ) {
                const digits = text.slice(start, i)
                if (parseFloat(digits) === parsed) {
                    if (found !== null && found !== digits)
                        throw fail("two different messageId values")
                    found = digits
                }
            }
        }
        p = text.indexOf(KEY, p + KEY.length)
    }
    if (found === null)
        throw fail("messageId is not a plain integer in the body")
    return found
}

/** Null when `t` is acceptable as a token, else the reason. */
export function tokenProblem(t: string): string {
    if (typeof t !== "string") return "token is not a string"
    if (!t.length || t.length > MAX_TOKEN_LENGTH)
        return `token length ${t.length} not in 1..${MAX_TOKEN_LENGTH}`
    for (let i = 0; i < t.length; i++) {
        const c = t.charCodeAt(i)
        if (c <= 32 || c >= 127)
            return "token has characters other than visible ASCII"
    }
    return null
}

/** A token shortened for logs: first and last 4 characters (2 when short). */
export function shortToken(t: string): string {
    if (typeof t !== "string" || !t.length) return "(none)"
    if (t.length >= 16) return t.slice(0, 4) + "..." + t.slice(t.length - 4)
    if (t.length >= 8) return t.slice(0, 2) + "..."
    return "..."
}

/**
 * Parses a channel answer body (`{"code":N,"message":"...","info":{...}}`).
 * Never lets a hostile body crash the VM: size and nesting are bounded
 * before JSON.parse. Throws Error("platform: ...") when the body is not a
 * platform answer; the token and messageId are only present when valid.
 */
export async function parsePlatformResponse(
    body: Buffer | string
): Promise<PlatformResult> {
    let text: string
    if (typeof body === "string") text = body
    else if (body instanceof Buffer) text = body.toString("utf-8")
    else throw fail("no response body")
    const size = text.byteLength
    if (!size) throw fail("empty response body")
    if (size > MAX_PARSE_BYTES)
        throw fail(
            `response body of ${size} bytes is larger than ${MAX_PARSE_BYTES}`
        )
    if ((await jsonDepth(text, MAX_JSON_DEPTH)) > MAX_JSON_DEPTH)
        throw fail(`response JSON nested deeper than ${MAX_JSON_DEPTH}`)
    let o: any
    try {
        o = JSON.parse(text)
    } catch (e) {
        throw fail(`response is not JSON (${(e as Error).message})`)
    }
    if (!o || typeof o !== "object" || Array.isArray(o))
        throw fail("response is not a JSON object")
    const code = o.code
    if (typeof code !== "number" || Math.floor(code) !== code)
        throw fail("response has no integer code")
    const r: PlatformResult = {
        code,
        message: typeof o.message === "string" ? o.message : "",
    }
    const info = o.info
    if (info && typeof info === "object" && !Array.isArray(info)) {
        if (info.token !== undefined && info.token !== null) {
            const why = tokenProblem(info.token)
            if (why) throw fail(why)
            r.token = info.token
        }
        if (info.messageId !== undefined && info.messageId !== null)
            r.messageId = findMessageId(text, info.messageId)
    }
    return r
}
