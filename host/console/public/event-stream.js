// Server-sent events read with fetch, so the stream carries the token in a
// header as every other request does (EventSource cannot send headers).
// Reconnects by itself, waiting longer after each failure (1 s to 15 s).
import { consoleFetch } from "./token.js"

/**
 * Calls `on[event](data)` for each event of the stream at `url`, and
 * `state(true)` when it is open, `state(false)` when it is lost.
 * @param {string} url
 * @param {Record<string, (data: string) => void>} on
 * @param {(open: boolean) => void} state
 */
export function openEventStream(url, on, state) {
    let wait = 1000
    const run = async () => {
        for (;;) {
            try {
                const r = await consoleFetch(url, {
                    headers: { Accept: "text/event-stream" },
                    cache: "no-store",
                })
                if (!r.ok || !r.body) throw new Error(`HTTP ${r.status}`)
                state(true)
                wait = 1000
                const reader = r.body
                    .pipeThrough(new TextDecoderStream())
                    .getReader()
                let buf = ""
                for (;;) {
                    const { value, done } = await reader.read()
                    if (done) break
                    buf += value
                    let end
                    while ((end = buf.indexOf("\n\n")) >= 0) {
                        dispatch(buf.slice(0, end), on)
                        buf = buf.slice(end + 2)
                    }
                }
            } catch {
                // lost or refused: try again below
            }
            state(false)
            await new Promise(r => setTimeout(r, wait))
            wait = Math.min(wait * 2, 15_000)
        }
    }
    run()
}

/** One event block: `event:` and `data:` lines, `:` comments ignored. @param {string} block @param {Record<string, (data: string) => void>} on */
function dispatch(block, on) {
    let event = "message"
    const data = []
    for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim()
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart())
    }
    if (data.length) on[event]?.(data.join("\n"))
}
