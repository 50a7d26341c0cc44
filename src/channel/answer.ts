import * as ds from "@devicescript/core"
import { parseDigits } from "../digits"
import { tokenProblem, MAX_TOKEN_LENGTH } from "./token"

/** What the platform answered, read from its JSON body. */
export interface PlatformResult {
    code: number
    /** The first {@link MAX_MESSAGE_BYTES} bytes of `message`, for logs. */
    message: string
    /** `info.token` from `/auth` (checked: visible ASCII, 1..512 chars). */
    token?: string
    /** `info.messageId` as its exact decimal digits (it exceeds 2^53). */
    messageId?: string
}

/** Deeper JSON is refused (the reader keeps one byte per open bracket). */
export const MAX_JSON_DEPTH = 32
/** Bytes of `message` kept; the rest is skipped. */
export const MAX_MESSAGE_BYTES = 128

// what a string or scalar is, by where it stands
const F_NONE = 0
const F_KEY = 1
const F_CODE = 2
const F_MESSAGE = 3
const F_INFO = 4
const F_TOKEN = 5
const F_MSGID = 6

// where the reader is
const P_VALUE = 0 // a value is expected
const P_AFTER = 1 // after a value: `,`, a closing bracket, or the end
const P_KEY = 2 // a key or `}` (just after `{`)
const P_NEXT_KEY = 3 // a key (after `,` in an object)
const P_COLON = 4
const P_STRING = 5
const P_SCALAR = 6 // a number, true, false or null
const P_END = 7 // the top object is closed: only white space may follow

const OBJECT = 1
const ARRAY = 2
/** Longest key that is compared (longer keys are of no interest). */
const MAX_KEY_BYTES = 16
/** Longest number or literal. */
const MAX_SCALAR = 32

function isSpace(c: number) {
    return c === 32 || c === 9 || c === 10 || c === 13
}

function isDigit(c: number) {
    return c >= 48 && c <= 57
}

function hexValue(c: number) {
    if (c >= 48 && c <= 57) return c - 48
    if (c >= 97 && c <= 102) return c - 87
    if (c >= 65 && c <= 70) return c - 55
    return -1
}

/** Whether `s` is a JSON number (RFC 8259 section 6). */
export function isJsonNumber(s: string): boolean {
    const n = s.length
    let i = 0
    if (s.charCodeAt(0) === 45) i++
    if (i >= n || !isDigit(s.charCodeAt(i))) return false
    if (s.charCodeAt(i) === 48) i++
    else while (i < n && isDigit(s.charCodeAt(i))) i++
    if (i < n && s.charCodeAt(i) === 46) {
        const start = ++i
        while (i < n && isDigit(s.charCodeAt(i))) i++
        if (i === start) return false
    }
    if (i < n && (s.charCodeAt(i) === 101 || s.charCodeAt(i) === 69)) {
        i++
        if (i < n && (s.charCodeAt(i) === 43 || s.charCodeAt(i) === 45)) i++
        const start = i
        while (i < n && isDigit(s.charCodeAt(i))) i++
        if (i === start) return false
    }
    return i === n
}

function fail(msg: string): Error {
    return new Error(`platform: ${msg}`)
}

/**
 * Reads a channel answer (`{"code":N,"message":"...","info":{...}}`) as it
 * streams in, in chunks of any size, keeping only `code`, the start of
 * `message`, `info.token` and `info.messageId`. Everything else (an
 * `info.Data` of any size, unknown fields) is checked for JSON structure
 * and skipped without being held, so memory stays a few hundred bytes
 * whatever the body's size. Never throws while reading: the first problem
 * is kept and {@link end} reports it, so the HTTP exchange can finish and
 * the connection stays usable. Pure: no I/O.
 */
export class AnswerReader {
    private state = P_VALUE
    private error: string = null
    private stack = Buffer.alloc(MAX_JSON_DEPTH)
    private depth = 0
    private started = false
    /** the top-level key being read, and the key inside `info` */
    private key1 = F_NONE
    private key2 = F_NONE
    /** depth of the `info` object, 0 when not inside it */
    private infoDepth = 0
    /** what the current string or scalar is */
    private field = F_NONE
    /** string escape: 0 none, 1 after `\`, 2..5 reading `\u` hex digits */
    private esc = 0
    private uval = 0
    /** captured string bytes (decoded), and the string's whole length */
    private cap = Buffer.alloc(MAX_TOKEN_LENGTH + 4)
    private capLen = 0
    private strLen = 0
    private scalar = ""
    private code: number = undefined
    private message = ""
    private token: string = undefined
    private tokenLength = 0
    private messageId: string = undefined

    /** Reads `len` bytes of `chunk` from `off`. */
    push(chunk: Buffer, off: number, len: number) {
        const end = off + len
        let i = off
        while (i < end && this.error === null) {
            const st = this.state
            if (st === P_STRING) {
                i = this.stringBytes(chunk, i, end)
                continue
            }
            const c = chunk[i]
            if (st === P_SCALAR) {
                if (isSpace(c) || c === 44 || c === 93 || c === 125) {
                    this.scalarDone() // the delimiter is read again below
                    continue
                }
                if (this.scalar.length >= MAX_SCALAR)
                    this.error = "response has a number longer than 32"
                else this.scalar += String.fromCharCode(c)
                i++
                continue
            }
            i++
            if (isSpace(c)) continue
            if (st === P_VALUE) this.valueStart(c)
            else if (st === P_AFTER) this.afterValue(c)
            else if (st === P_KEY || st === P_NEXT_KEY) {
                if (c === 34) this.stringStart(F_KEY)
                else if (c === 125 && st === P_KEY) this.close()
                else this.error = "response is not JSON (a key is expected)"
            } else if (st === P_COLON) {
                if (c === 58) this.state = P_VALUE
                else this.error = "response is not JSON (':' is expected)"
            } else this.error = "response is not JSON (data after the object)"
        }
    }

    /** The body is complete: the answer, or Error("platform: ...") saying why not. */
    end(): PlatformResult {
        if (this.error === null) {
            if (this.state === P_SCALAR && this.depth === 0) this.scalarDone()
            if (!this.started) this.error = "empty response body"
            else if (this.state !== P_END && this.error === null)
                this.error = "response is not JSON (it ends too early)"
        }
        if (this.error === null && this.code === undefined)
            this.error = "response has no integer code"
        if (this.error === null && this.token !== undefined) {
            const why =
                this.tokenLength > MAX_TOKEN_LENGTH
                    ? `token length ${this.tokenLength} not in 1..${MAX_TOKEN_LENGTH}`
                    : tokenProblem(this.token)
            if (why) this.error = why
        }
        if (this.error !== null) throw fail(this.error)
        const r: PlatformResult = { code: this.code, message: this.message }
        if (this.token !== undefined) r.token = this.token
        if (this.messageId !== undefined) r.messageId = this.messageId
        return r
    }

    /** What a value at the current position is. */
    private valueField(): number {
        if (this.depth === 1) return this.key1
        if (this.infoDepth > 0 && this.depth === this.infoDepth)
            return this.key2
        return F_NONE
    }

    private valueStart(c: number) {
        if (!this.started) {
            this.started = true
            if (c !== 123) {
                const jsonish =
                    c === 91 || c === 34 || c === 45 || isDigit(c) || c === 110
                this.error = jsonish
                    ? "response is not a JSON object"
                    : "response is not JSON"
                return
            }
        }
        if (c === 93 && this.emptyArray) {
            this.close()
            return
        }
        this.emptyArray = false
        const f = this.valueField()
        if (c === 123 || c === 91) {
            if (this.depth >= MAX_JSON_DEPTH)
                this.error = `response JSON nested deeper than ${MAX_JSON_DEPTH}`
            else if (f === F_CODE) this.error = "response has no integer code"
            else if (f === F_TOKEN) this.error = "token is not a string"
            else if (f === F_MSGID)
                this.error = "messageId is not a non-negative integer"
            if (this.error !== null) return
            this.stack[this.depth++] = c === 123 ? OBJECT : ARRAY
            if (c === 123 && f === F_INFO && this.infoDepth === 0)
                this.infoDepth = this.depth
            this.state = c === 123 ? P_KEY : P_VALUE
            this.emptyArray = c === 91
        } else if (c === 34) {
            this.stringStart(f)
        } else if (c === 45 || isDigit(c) || (c >= 97 && c <= 122)) {
            this.field = f
            this.scalar = String.fromCharCode(c)
            this.state = P_SCALAR
        } else this.error = "response is not JSON (a value is expected)"
    }

    /** true right after `[`, where `]` may close an empty array */
    private emptyArray = false

    private afterValue(c: number) {
        const top = this.depth > 0 ? this.stack[this.depth - 1] : 0
        if (c === 44 && top === OBJECT) this.state = P_NEXT_KEY
        else if (c === 44 && top === ARRAY) this.state = P_VALUE
        else if ((c === 125 && top === OBJECT) || (c === 93 && top === ARRAY))
            this.close()
        else this.error = "response is not JSON (unexpected character)"
    }

    /** Closes the innermost object or array. */
    private close() {
        if (this.infoDepth === this.depth) {
            this.infoDepth = 0
            this.key2 = F_NONE
        }
        this.depth--
        this.emptyArray = false
        this.state = this.depth === 0 ? P_END : P_AFTER
    }

    private stringStart(f: number) {
        this.field = f
        this.esc = 0
        this.capLen = 0
        this.strLen = 0
        this.state = P_STRING
    }

    /** How many bytes of the current string are kept. */
    private capLimit(): number {
        const f = this.field
        if (f === F_TOKEN) return MAX_TOKEN_LENGTH + 1
        if (f === F_MESSAGE) return MAX_MESSAGE_BYTES
        if (f === F_KEY) return MAX_KEY_BYTES + 1
        if (f === F_MSGID) return 21
        return 0
    }

    private keep(b: number) {
        if (this.capLen < this.capLimit()) this.cap[this.capLen++] = b
        this.strLen++
    }

    /** Keeps code point `u` as UTF-8 (lone surrogates as their 3 bytes). */
    private keepCodePoint(u: number) {
        if (u < 0x80) this.keep(u)
        else if (u < 0x800) {
            this.keep(0xc0 | (u >> 6))
            this.keep(0x80 | (u & 63))
        } else {
            this.keep(0xe0 | (u >> 12))
            this.keep(0x80 | ((u >> 6) & 63))
            this.keep(0x80 | (u & 63))
        }
    }

    /** Reads string bytes from `i`; returns where it stopped. */
    private stringBytes(chunk: Buffer, i: number, end: number): number {
        if (this.esc === 0) {
            // plain run: up to the next quote or backslash, at native speed
            let stop = chunk.indexOf(34, i, end)
            const bs = chunk.indexOf(92, i, stop < 0 ? end : stop)
            if (bs >= 0) stop = bs
            const runEnd = stop < 0 ? end : stop
            const room = this.capLimit() - this.capLen
            if (room > 0) {
                const n = runEnd - i < room ? runEnd - i : room
                this.cap.blitAt(this.capLen, chunk, i, n)
                this.capLen += n
            }
            this.strLen += runEnd - i
            if (stop < 0) return end
            if (chunk[stop] === 34) this.stringDone()
            else this.esc = 1
            return stop + 1
        }
        const c = chunk[i]
        if (this.esc === 1) {
            const j = '"\\/bfnrt'.indexOf(String.fromCharCode(c))
            if (c === 117) {
                this.esc = 2
                this.uval = 0
            } else if (j >= 0) {
                this.keep(j < 3 ? c : "\b\f\n\r\t".charCodeAt(j - 3))
                this.esc = 0
            } else this.error = "response is not JSON (bad escape)"
            return i + 1
        }
        const h = hexValue(c)
        if (h < 0) {
            this.error = "response is not JSON (bad \\u escape)"
            return i + 1
        }
        this.uval = this.uval * 16 + h
        if (++this.esc === 6) {
            this.keepCodePoint(this.uval)
            this.esc = 0
        }
        return i + 1
    }

    private stringDone() {
        const f = this.field
        const text =
            this.capLen > 0
                ? this.cap.slice(0, this.capLen).toString("utf-8")
                : ""
        if (f === F_KEY) {
            this.state = P_COLON
            if (this.depth === 1)
                this.key1 =
                    text === "code"
                        ? F_CODE
                        : text === "message"
                          ? F_MESSAGE
                          : text === "info"
                            ? F_INFO
                            : F_NONE
            else if (this.infoDepth > 0 && this.depth === this.infoDepth)
                this.key2 =
                    text === "token"
                        ? F_TOKEN
                        : text === "messageId"
                          ? F_MSGID
                          : F_NONE
            return
        }
        this.state = P_AFTER
        if (f === F_MESSAGE) this.message = text
        else if (f === F_CODE) this.error = "response has no integer code"
        else if (f === F_TOKEN) {
            if (this.token !== undefined) this.error = "response has two tokens"
            this.token = text
            this.tokenLength = this.strLen
        } else if (f === F_MSGID) {
            if (!this.strLen || this.strLen > 20)
                this.error = `messageId of ${this.strLen} characters`
            else if (isNaN(parseDigits(text, 1, 20)))
                this.error = "messageId is not decimal digits"
            else this.setMessageId(text)
        }
    }

    private setMessageId(digits: string) {
        if (this.messageId !== undefined && this.messageId !== digits)
            this.error = "two different messageId values"
        this.messageId = digits
    }

    private scalarDone() {
        const s = this.scalar
        const f = this.field
        this.state = this.depth === 0 ? P_END : P_AFTER
        const literal = s === "true" || s === "false" || s === "null"
        if (!literal && !isJsonNumber(s)) {
            this.error = "response is not JSON (bad number or literal)"
            return
        }
        if (f === F_CODE) {
            const neg = s.charCodeAt(0) === 45
            const v = parseDigits(neg ? s.slice(1) : s, 1, 15)
            if (literal || isNaN(v)) this.error = "response has no integer code"
            else if (this.code !== undefined)
                this.error = "response has two codes"
            else this.code = neg ? -v : v
        } else if (f === F_TOKEN && s !== "null") {
            this.error = "token is not a string"
        } else if (f === F_MSGID && s !== "null") {
            if (s.length > 20 || isNaN(parseDigits(s, 1, 20)))
                this.error = "messageId is not a non-negative integer"
            else this.setMessageId(s)
        }
    }
}

/** Bytes read between yields by {@link readAnswer}. */
const READ_SLICE = 256

/**
 * Reads a whole answer body (see {@link AnswerReader}), yielding between
 * slices so that no body can trip the VM's InfiniteLoop check.
 * Throws Error("platform: ...") when the body is not a platform answer.
 */
export async function readAnswer(
    body: Buffer | string
): Promise<PlatformResult> {
    const buf = typeof body === "string" ? Buffer.from(body) : body
    const reader = new AnswerReader()
    if (buf) {
        for (let off = 0; off < buf.length; off += READ_SLICE) {
            await ds.sleep(0)
            const n = buf.length - off
            reader.push(buf, off, n < READ_SLICE ? n : READ_SLICE)
        }
    }
    return reader.end()
}
