/**
 * Where a JSON text stops being JSON, as a line and column, without quoting
 * any of it (Node's own `JSON.parse` messages may quote the text, and a
 * fleet or topics file holds values that must not be echoed). Pure and
 * iterative: a hostile file nested a million deep cannot overflow the stack.
 */

/** Where and (in general words) why a text is not JSON. */
export interface JsonErrorPlace {
    /** 1-based line */
    line: number
    /** 1-based column, in UTF-16 code units */
    column: number
    /** what was wrong there, never quoting the text */
    what: string
}

type Expect =
    | "value"
    | "valueOrClose"
    | "key"
    | "keyOrClose"
    | "colon"
    | "commaOrClose"
    | "end"

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
const ESCAPES = '"\\/bfnrt'

/** Index just past the string starting at `i` (a quote), or -1 - error index. */
function scanString(text: string, i: number): number {
    for (let j = i + 1; j < text.length; j++) {
        const c = text.charCodeAt(j)
        if (c === 0x22) return j + 1
        if (c < 0x20) return -1 - j
        if (c === 0x5c) {
            const e = text[j + 1]
            if (e === "u") {
                if (!/^[0-9a-fA-F]{4}$/.test(text.slice(j + 2, j + 6)))
                    return -1 - j
                j += 5
            } else if (e !== undefined && ESCAPES.includes(e)) j++
            else return -1 - j
        }
    }
    return -1 - text.length
}

/** Line and column of a string offset. */
export function lineColumn(text: string, offset: number) {
    let line = 1
    let start = 0
    for (let i = 0; i < offset && i < text.length; i++)
        if (text.charCodeAt(i) === 10) {
            line++
            start = i + 1
        }
    return { line, column: offset - start + 1 }
}

/**
 * The first place where `text` is not valid JSON (RFC 8259, as
 * `JSON.parse` reads it), or undefined when it is valid.
 */
export function jsonErrorPlace(text: string): JsonErrorPlace | undefined {
    const stack: string[] = []
    let expect: Expect = "value"
    let i = 0
    const fail = (at: number, what: string): JsonErrorPlace => ({
        ...lineColumn(text, at),
        what,
    })
    const after = (): Expect => (stack.length ? "commaOrClose" : "end")
    for (;;) {
        while (i < text.length && " \t\n\r".includes(text[i])) i++
        if (i >= text.length)
            return expect === "end"
                ? undefined
                : fail(i, "the text ends before the JSON does")
        const c = text[i]
        switch (expect) {
            case "end":
                return fail(i, "unexpected text after the JSON value")
            case "value":
            case "valueOrClose":
                if (expect === "valueOrClose" && c === "]") {
                    stack.pop()
                    i++
                    expect = after()
                } else if (c === "{" || c === "[") {
                    stack.push(c)
                    i++
                    expect = c === "{" ? "keyOrClose" : "valueOrClose"
                } else if (c === '"') {
                    const j = scanString(text, i)
                    if (j < 0) return fail(-1 - j, "bad string")
                    i = j
                    expect = after()
                } else if (c === "-" || (c >= "0" && c <= "9")) {
                    NUMBER.lastIndex = i
                    const m = NUMBER.exec(text)
                    if (!m) return fail(i, "bad number")
                    i += m[0].length
                    expect = after()
                } else {
                    const word = ["true", "false", "null"].find(w =>
                        text.startsWith(w, i)
                    )
                    if (!word) return fail(i, "unexpected character")
                    i += word.length
                    expect = after()
                }
                break
            case "key":
            case "keyOrClose":
                if (expect === "keyOrClose" && c === "}") {
                    stack.pop()
                    i++
                    expect = after()
                } else if (c === '"') {
                    const j = scanString(text, i)
                    if (j < 0) return fail(-1 - j, "bad string")
                    i = j
                    expect = "colon"
                } else return fail(i, "expected a quoted property name")
                break
            case "colon":
                if (c !== ":") return fail(i, "expected ':'")
                i++
                expect = "value"
                break
            case "commaOrClose": {
                const top = stack[stack.length - 1]
                if (c === ",") {
                    i++
                    expect = top === "[" ? "value" : "key"
                } else if (c === (top === "[" ? "]" : "}")) {
                    stack.pop()
                    i++
                    expect = after()
                } else
                    return fail(
                        i,
                        `expected ',' or '${top === "[" ? "]" : "}"}'`
                    )
                break
            }
        }
    }
}

/**
 * `JSON.parse(text)`, throwing an Error whose message names only the line
 * and column (never a piece of the text) when it is not JSON.
 */
export function parseJsonQuietly(text: string): unknown {
    try {
        return JSON.parse(text)
    } catch {
        const at = jsonErrorPlace(text)
        const e = new Error(
            at
                ? `not valid JSON: ${at.what} at line ${at.line}, column ${at.column}`
                : "not valid JSON"
        ) as Error & { line?: number; column?: number }
        if (at) {
            e.line = at.line
            e.column = at.column
        }
        throw e
    }
}
