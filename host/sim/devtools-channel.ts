/**
 * The dev tools side channel (ws://127.0.0.1:8081, what the VS Code
 * extension uses): JSON requests `{"req","seq","data"}` answered by the
 * message with the same `seq`. The harness asks it for builds only. The
 * same websocket relays the Jacdac bus as binary messages, which are
 * ignored here.
 */
import { setTimeout as sleep } from "node:timers/promises"
import {
    closeWebSocket,
    openWebSocket,
    type WebSocket,
} from "../lib/websocket-client.ts"

/** An answer of dev tools. */
interface Answer {
    seq?: number
    resp?: string
    data?: any
}

/** A connection to the dev tools side channel. */
export class DevtoolsChannel {
    private seq = 0
    private readonly pending = new Map<number, (msg: Answer) => void>()
    private ws?: WebSocket

    /**
     * @param context appended to error messages (recent device and tool output)
     */
    constructor(
        private readonly port: number,
        private readonly context: () => string = () => ""
    ) {}

    /**
     * Connects, trying again until `deadline`: dev tools' listen call may
     * trail the log line that says it started.
     */
    async open(deadline: number): Promise<void> {
        for (;;) {
            try {
                this.ws = await openWebSocket(`ws://127.0.0.1:${this.port}/`, {
                    onMessage: (data, binary) => {
                        if (!binary) this.answer(data.toString("utf8"))
                    },
                })
                this.ws.on("error", () => {})
                return
            } catch (e) {
                if (Date.now() > deadline) throw e
                await sleep(100)
            }
        }
    }

    private answer(text: string) {
        let msg: Answer
        try {
            msg = JSON.parse(text)
        } catch {
            return
        }
        const waiter = msg.seq ? this.pending.get(msg.seq) : undefined
        if (!waiter) return
        this.pending.delete(msg.seq!)
        waiter(msg)
    }

    /** Sends request `req` and resolves with its answer's data. */
    request(req: string, data: unknown, timeoutMs: number): Promise<any> {
        const ws = this.ws
        if (!ws) return Promise.reject(new Error("dev tools channel not open"))
        return new Promise((res, rej) => {
            const s = ++this.seq
            const t = setTimeout(() => {
                this.pending.delete(s)
                rej(
                    new Error(
                        `dev tools did not answer ${req} in ${timeoutMs} ms${this.context()}`
                    )
                )
            }, timeoutMs)
            this.pending.set(s, msg => {
                clearTimeout(t)
                if (msg.resp === "error")
                    rej(new Error(`dev tools ${req}: ${msg.data?.message}`))
                else res(msg.data)
            })
            ws.send(JSON.stringify({ req, seq: s, data }))
        })
    }

    /**
     * Compiles `entry` (relative to the project dev tools runs in), leaving
     * `.devicescript/bin/bytecode.devs`; throws on compile errors. Waits
     * until `deadline`, and at least 30 s.
     */
    async build(entry: string, deadline: number): Promise<void> {
        const r = await this.request(
            "build",
            { filename: entry, buildOptions: {} },
            Math.max(deadline - Date.now(), 30_000)
        )
        if (!r.success) {
            const msgs = (r.diagnostics ?? []).map(
                (d: any) => d.formatted || d.messageText
            )
            throw new Error(`sim: build of ${entry} failed\n${msgs.join("\n")}`)
        }
    }

    /** Closes the connection. */
    async close(): Promise<void> {
        if (this.ws) await closeWebSocket(this.ws)
    }
}
