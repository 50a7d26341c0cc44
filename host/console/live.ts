/**
 * Server-sent events: the open `/events` streams and what is sent to them.
 * Each stream first gets the whole state, then what changed.
 */
import type { ServerResponse } from "node:http"
import { SECURITY_HEADERS } from "./http-util.ts"

/** At most this many open streams (each an open request). */
export const MAX_STREAMS = 32

/** The open streams. */
export class EventStreams {
    private readonly open = new Set<ServerResponse>()
    private readonly beat: NodeJS.Timeout

    constructor(heartbeatMs = 15_000) {
        // a comment line keeps proxies and the browser from giving up
        this.beat = setInterval(() => {
            for (const r of this.open) r.write(": beat\n\n")
        }, heartbeatMs)
        this.beat.unref()
    }

    /** Opens a stream on `res`, sending `first` (event name and data) at once. */
    add(res: ServerResponse, first: [string, unknown][]): boolean {
        if (this.open.size >= MAX_STREAMS) return false
        res.writeHead(200, {
            ...SECURITY_HEADERS,
            "Content-Type": "text/event-stream; charset=utf-8",
            Connection: "keep-alive",
        })
        for (const [event, data] of first) write(res, event, data)
        this.open.add(res)
        res.on("close", () => this.open.delete(res))
        return true
    }

    /** Sends an event to every stream. */
    broadcast(event: string, data: unknown) {
        for (const r of this.open) write(r, event, data)
    }

    /** Ends every stream. */
    close() {
        clearInterval(this.beat)
        for (const r of this.open) r.end()
        this.open.clear()
    }
}

function write(res: ServerResponse, event: string, data: unknown) {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
}
