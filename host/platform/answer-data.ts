/**
 * The `info.Data` an accepted publish answer may carry (the spec: "byte
 * []/UTF-8 encoded data, and possibly empty"), for the `answerData` fault:
 * an ASCII text of exactly N bytes made to fool a naive scanner. It holds
 * `"code":`, `messageId`, quotes, backslashes and unbalanced braces and
 * brackets, all properly escaped in the JSON answer, so that only a real
 * JSON parse finds the envelope's `code` and `messageId`. Pure.
 */

/** The text repeated (and cut) to make Data: every character is one byte. */
export const DATA_PATTERN = String.raw`{"code":20003,"message":"check token error","info":{"messageId":1234567890123456789}} \"} "code": 40000, "messageId":42 \\ ]]}}{{[[ `

/** The largest Data the fault will produce: 1 MB. */
export const MAX_ANSWER_DATA_BYTES = 1024 * 1024

/** Where Data goes in `info`: before or after `messageId`. */
export type DataPlacement = "before" | "after"

/** An ASCII text of exactly `bytes` bytes built from DATA_PATTERN. */
export function answerDataText(bytes: number): string {
    const times = Math.ceil(bytes / DATA_PATTERN.length)
    return DATA_PATTERN.repeat(times).slice(0, bytes)
}

/**
 * The `info` JSON text of an accepted publish: the messageId as a bare
 * number and, when `data` is given, `"Data"` before or after it.
 */
export function publishInfoJson(
    messageId: string,
    data?: { bytes: number; at: DataPlacement }
): string {
    const id = `"messageId":${messageId}`
    if (!data) return `{${id}}`
    const d = `"Data":${JSON.stringify(answerDataText(data.bytes))}`
    return data.at === "before" ? `{${d},${id}}` : `{${id},${d}}`
}
