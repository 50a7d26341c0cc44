/**
 * What a simulator session has heard: every device log line in order, the
 * recent tool output for error messages, and waiting for lines (a cursor
 * for expectations in order, a follower for live lines). Knows when no
 * more lines can come: the device is down, or the session has stopped.
 */

/** Device lines and recent tool output of one session. */
export class DeviceLog {
    /** Every device line, in order. */
    readonly lines: string[] = []
    /** Recent non-device output, for error messages. */
    private readonly diag: string[] = []
    /** Where `waitForLine` searches from. */
    private cursor = 0
    private readonly wakers = new Set<() => void>()
    /** Why the device cannot print now (it died or aborted); cleared by a restart. */
    private down?: string
    private closed = false

    /** @param trace print every line with the milliseconds since `t0` to stderr */
    constructor(
        private readonly t0 = Date.now(),
        private readonly trace = false
    ) {}

    private wake() {
        for (const w of [...this.wakers]) w()
    }

    /** Records a device line. */
    push(line: string) {
        this.lines.push(line)
        if (this.trace)
            console.error(`[sim +${Date.now() - this.t0}ms] WASM> ${line}`)
        this.wake()
    }

    /** Records a line of tool output from `who`. */
    note(who: string, line: string) {
        if (this.trace)
            console.error(`[sim +${Date.now() - this.t0}ms] ${who}: ${line}`)
        this.diag.push(`${who}: ${line}`)
        if (this.diag.length > 60) this.diag.splice(0, 20)
    }

    /** The recent device lines and tool output, for an error message. */
    recent(): string {
        return `\n--- recent device lines:\n${this.lines.slice(-15).join("\n")}\n--- recent tool output:\n${this.diag.slice(-15).join("\n")}`
    }

    /** The device stopped printing for `reason` (the first reason stays). */
    deviceDown(reason: string) {
        if (this.down || this.closed) return
        this.down = reason
        this.wake()
    }

    /** The device is up again (restarted). */
    deviceUp() {
        this.down = undefined
    }

    /** Why the device is down, if it is. */
    get downReason(): string | undefined {
        return this.down
    }

    /** Throws with the recent output when the device is down. */
    assertUp() {
        if (this.down) throw new Error(`sim: ${this.down}${this.recent()}`)
    }

    /** No more lines will come: waits end, followers finish. */
    close() {
        this.closed = true
        this.wake()
    }

    /** Moves the `waitForLine` cursor to line index `i`. */
    moveCursor(i: number) {
        this.cursor = i
    }

    /** Resolves at the next line or after `ms`. */
    nextLine(ms: number): Promise<void> {
        return new Promise(r => {
            const w = () => {
                this.wakers.delete(w)
                clearTimeout(t)
                r()
            }
            const t = setTimeout(w, Math.max(ms, 0))
            this.wakers.add(w)
        })
    }

    /** See `SimSession.waitForLine`. */
    waitForLine(re: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
        return new Promise((res, rej) => {
            let timer: NodeJS.Timeout
            const check = () => {
                for (; this.cursor < this.lines.length; this.cursor++) {
                    const m = re.exec(this.lines[this.cursor])
                    if (m) {
                        this.cursor++
                        done()
                        res(m)
                        return
                    }
                }
                if (this.down || this.closed) {
                    done()
                    rej(
                        new Error(
                            `sim: waiting for ${re}: ${this.down ?? "session stopped"}${this.recent()}`
                        )
                    )
                }
            }
            const done = () => {
                this.wakers.delete(check)
                clearTimeout(timer)
            }
            timer = setTimeout(() => {
                done()
                rej(
                    new Error(
                        `sim: no device line matched ${re} within ${timeoutMs} ms${this.recent()}`
                    )
                )
            }, timeoutMs)
            this.wakers.add(check)
            check()
        })
    }

    /** Device lines from now on, until the log closes. */
    follow(): AsyncIterableIterator<string> {
        let i = this.lines.length
        const it: AsyncIterableIterator<string> = {
            [Symbol.asyncIterator]: () => it,
            next: () =>
                new Promise(res => {
                    const check = () => {
                        if (i < this.lines.length) {
                            this.wakers.delete(check)
                            res({ value: this.lines[i++], done: false })
                        } else if (this.closed) {
                            this.wakers.delete(check)
                            res({ value: undefined, done: true })
                        }
                    }
                    this.wakers.add(check)
                    check()
                }),
            return: async () => ({ value: undefined, done: true }),
        }
        return it
    }

    private lastStart(from: number) {
        for (let i = this.lines.length - 1; i >= from; i--)
            if (this.lines[i].startsWith("start: ")) return i
        return -1
    }

    /**
     * Index of the runtime's `start: ...` line of the program run that
     * `from` leads to, or -1 on timeout. With `settleMs`, keeps waiting that
     * long for a later start and takes the last one: after a deploy on kept
     * flash, the program in flash may or may not have started by itself
     * (with the old settings) before the deploy restarts it. Throws when the
     * device goes down.
     */
    async waitForStart(
        from: number,
        timeoutMs: number,
        settleMs = 0
    ): Promise<number> {
        const end = Date.now() + timeoutMs
        while (this.lastStart(from) < 0) {
            this.assertUp()
            if (Date.now() >= end) return -1
            await this.nextLine(end - Date.now())
        }
        const settle = Date.now() + settleMs
        while (Date.now() < settle) await this.nextLine(settle - Date.now())
        return this.lastStart(from)
    }
}
