/**
 * One simulator session: dev tools (builds), the simulated device (`devs
 * vm`) and the deploy of program and settings over Jacdac TCP, as named
 * steps of one object. `startSim` (index.ts) claims the simulator and
 * boots a session; the session releases the claim when it stops.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { startCli, type CliProcess } from "./cli-process.ts"
import { deployToSim } from "./deploy.ts"
import { DeviceLog } from "./device-log.ts"
import { DevtoolsChannel } from "./devtools-channel.ts"
import { SIM_PORTS } from "./lock.ts"
import type { SimProject } from "./project.ts"

export interface SimOptions {
    /** Firmware entry file, absolute or relative to the repository root; must lie inside the repository. */
    entry: string
    /**
     * Device settings, key → string value, written over the settings
     * service like dev tools does on a real board, and read on the device
     * with `readSetting(key)` (a string).
     * Settings are only ever added or overwritten, never deleted: keys
     * stored in flash by an earlier deploy or by the program stay. Any
     * string works (including `#`, quotes, newlines, "123"); keys are
     * `[A-Za-z0-9_]`, at most 13 long; WIFI_SSID/WIFI_PWD are refused (dev
     * tools sends those to the Wi-Fi service, not to settings).
     */
    settings?: Record<string, string>
    /**
     * Flash image of the device. Default: a file in the session's
     * temporary directory, fresh at every `startSim` and deleted by `stop`.
     * Give a path to keep flash across sessions or to separate scenarios.
     */
    flashFile?: string
    /** Delete `flashFile` before the first boot (an erased board). */
    clearFlash?: boolean
    /** Extra environment for the device process, e.g. `NODE_EXTRA_CA_CERTS`. */
    env?: Record<string, string>
    /** Called for every device log line (the `WASM> ` prefix removed). */
    onLine?: (line: string) => void
    /** Print device lines to stdout as they come. */
    echo?: boolean
    /** Limit for dev tools + VM + build + deploy. Default 60 s. */
    bootTimeoutMs?: number
    /**
     * While another simulator session holds the simulator, keep polling
     * this long before failing. Default 0: fail at once with a clear message.
     */
    waitForPortsMs?: number
}

export interface SimSession {
    /** The temporary shadow project the CLI runs in. */
    readonly dir: string
    /** The flash image in use. */
    readonly flashFile: string
    /** Every device line since `startSim`, in order. */
    readonly lines: readonly string[]
    /** Milliseconds `startSim` took until the deployed program started. */
    readonly bootMs: number
    /**
     * Waits for the next device line matching `re`, searching from a cursor
     * that starts at the current boot and moves past each match, so
     * successive calls expect lines in order. Rejects on timeout (default
     * 30 s), when the device process dies or the runtime aborts, and when
     * the session stops, quoting the recent device and tool output.
     */
    waitForLine(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>
    /** Device lines from now on, until the session stops. */
    follow(): AsyncIterableIterator<string>
    /**
     * Reboots the device: kills the VM process and starts it again on the
     * same flash. The program and settings in flash start by themselves (no
     * redeploy). Resolves when the program has started; the line cursor is
     * moved to the start of the new boot.
     */
    restart(): Promise<void>
    /**
     * Emulates a board's deep sleep, to be called once the program said it
     * goes to sleep: in the simulator `standby(ms)` returns at once (in test
     * mode the runtime then exits; under `devs vm` it stays up with the
     * program ended), so this gives the device process `exitTimeoutMs`
     * (default 2 s) to end, stops it as the board's sleep would, waits `ms`,
     * and starts the device again on the same flash, as the board's timer
     * wake-up and reset do. `whileAsleep` runs while the device is stopped
     * (e.g. to read its flash image). Resolves when the program has started
     * again.
     */
    sleepAndWake(
        ms: number,
        exitTimeoutMs?: number,
        whileAsleep?: () => void | Promise<void>
    ): Promise<void>
    /**
     * Rebuilds the entry file and deploys it with `settings` (default: the
     * current ones), like reflashing a board over USB. The program restarts.
     */
    deploy(settings?: Record<string, string>): Promise<void>
    /** Stops the device and dev tools and deletes the temporary directory. */
    stop(): Promise<void>
    [Symbol.asyncDispose](): Promise<void>
}

/** A runtime panic (e.g. an oversized setting read) leaves the process up but the device dead. */
const RUNTIME_ABORT = /^(RuntimeError: )?Aborted\(/

/** The session behind `startSim`. */
export class Simulator implements SimSession {
    readonly dir: string
    readonly flashFile: string
    bootMs = 0
    private readonly t0 = Date.now()
    private readonly log: DeviceLog
    private readonly channel: DevtoolsChannel
    private readonly bootTimeoutMs: number
    private settings: Record<string, string>
    private devtools?: CliProcess
    private vm?: CliProcess
    private stopped = false

    /**
     * @param entry the entry file, relative to the repository root
     * @param release gives the simulator back (called once, by `stop`)
     */
    constructor(
        private readonly options: SimOptions,
        private readonly entry: string,
        private readonly project: SimProject,
        private readonly release: () => void
    ) {
        this.dir = project.dir
        this.flashFile = project.flashFile
        this.settings = options.settings ?? {}
        this.bootTimeoutMs = options.bootTimeoutMs ?? 60_000
        this.log = new DeviceLog(this.t0, !!process.env.SIM_TRACE)
        this.channel = new DevtoolsChannel(SIM_PORTS[0], () =>
            this.log.recent()
        )
    }

    get lines(): readonly string[] {
        return this.log.lines
    }

    /**
     * Dev tools, its side channel, a first build (fails fast on errors and
     * leaves the debug info the VM reads at start-up to resolve stack
     * traces), the device, then the deploy. Stops the session on failure.
     */
    async boot(): Promise<void> {
        const deadline = this.t0 + this.bootTimeoutMs
        try {
            const { exit: devtoolsExit } = await this.startDevtools(deadline)
            await this.channel.open(deadline)
            await Promise.race([
                this.channel.build(this.entry, deadline),
                devtoolsExit,
            ])
            const from = this.log.lines.length
            this.startDevice()
            await Promise.race([this.deployProgram(deadline), devtoolsExit])
            await this.settleOnStart(from)
            this.bootMs = Date.now() - this.t0
        } catch (e) {
            await this.stop()
            throw e
        }
    }

    /**
     * Starts `devs devtools` (no entry file: builds are requested
     * explicitly) and waits for it to listen. Resolves with `exit`, a
     * promise that rejects if dev tools exits, for racing the later steps
     * against (wrapped: an async function would wait for a promise it
     * returns).
     */
    private async startDevtools(
        deadline: number
    ): Promise<{ exit: Promise<never> }> {
        let listening!: () => void
        const ready = new Promise<void>(r => (listening = r))
        this.devtools = startCli(["devtools"], this.dir, process.env, l => {
            this.log.note("devtools", l)
            if (/dbgserver\s*:/.test(l)) listening()
        })
        const exit = this.devtools.exited.then(code => {
            throw new Error(
                code === 100
                    ? `DeviceScript simulator: dev tools could not listen (port ${SIM_PORTS.join("/")} in use): another simulator session is running`
                    : `sim: dev tools exited with code ${code}${this.log.recent()}`
            )
        })
        exit.catch(() => {})
        await Promise.race([
            ready,
            exit,
            timeoutAfter(deadline - Date.now(), "dev tools start"),
        ])
        return { exit }
    }

    /** Starts the simulated device (`devs vm`) on the session's flash. */
    private startDevice() {
        this.log.deviceUp()
        const vm = startCli(
            ["vm"],
            this.dir,
            { ...process.env, ...this.options.env },
            (l, stream) => {
                if (stream === "out" && l.startsWith("WASM> "))
                    this.deviceLine(l.slice(6))
                else {
                    this.log.note("vm", l)
                    if (RUNTIME_ABORT.test(l))
                        this.log.deviceDown(`device aborted (${l})`)
                }
            }
        )
        vm.exited.then(code => {
            if (this.vm === vm && !this.stopped)
                this.log.deviceDown(`device process exited with code ${code}`)
        })
        this.vm = vm
    }

    private deviceLine(line: string) {
        this.log.push(line)
        if (this.options.echo) console.log(`WASM> ${line}`)
        try {
            this.options.onLine?.(line)
        } catch (e) {
            this.log.note("onLine", String(e))
        }
    }

    /**
     * Deploys the last compiled program with the settings from this process
     * (see `deploy.ts` for why not through dev tools), without compiling
     * again: waits for the device to announce itself, and retries a failed
     * attempt with backoff until `deadline`.
     */
    private async deployProgram(deadline: number) {
        const bytecode = readFileSync(
            join(this.dir, ".devicescript/bin/bytecode.devs")
        )
        let pause = 250
        for (let attempt = 1; ; attempt++) {
            this.log.assertUp()
            try {
                await deployToSim({
                    bytecode,
                    settings: this.settings,
                    timeoutMs: Math.max(deadline - Date.now(), 1000),
                    port: SIM_PORTS[1],
                    log: l => this.log.note("deploy", l),
                })
                return
            } catch (e) {
                const msg = (e as Error).message
                this.log.note("deploy", `attempt ${attempt} failed: ${msg}`)
                this.log.assertUp()
                if (Date.now() + pause >= deadline)
                    throw new Error(
                        `sim: deploy timed out after ${attempt} attempts: ${msg}${this.log.recent()}`
                    )
            }
            await sleep(pause)
            pause = Math.min(pause * 2, 4000)
        }
    }

    /** Puts the line cursor on the start of the deployed program (or `from`). */
    private async settleOnStart(from: number) {
        const i = await this.log.waitForStart(from, 10_000, 500)
        this.log.moveCursor(i < 0 ? from : i)
    }

    waitForLine(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray> {
        return this.log.waitForLine(re, timeoutMs)
    }

    follow(): AsyncIterableIterator<string> {
        return this.log.follow()
    }

    async restart(): Promise<void> {
        if (this.stopped) throw new Error("sim: session stopped")
        const old = this.vm
        this.vm = undefined
        await old?.stop()
        const from = this.log.lines.length
        this.log.moveCursor(from)
        this.startDevice()
        const i = await this.log.waitForStart(from, 30_000)
        if (i < 0)
            throw new Error(
                `sim: program did not start after reboot${this.log.recent()}`
            )
    }

    async sleepAndWake(
        ms: number,
        exitTimeoutMs = 2000,
        whileAsleep?: () => void | Promise<void>
    ): Promise<void> {
        if (this.stopped) throw new Error("sim: session stopped")
        const vm = this.vm
        if (vm) {
            const ended = await Promise.race([
                vm.exited.then(() => true),
                sleep(exitTimeoutMs).then(() => false),
            ])
            if (!ended)
                this.log.note(
                    "sleep",
                    `device up ${exitTimeoutMs} ms after standby: stopped`
                )
        }
        const t0 = Date.now()
        if (whileAsleep) {
            this.vm = undefined
            await vm?.stop()
            await whileAsleep()
        }
        await sleep(Math.max(0, ms - (Date.now() - t0)))
        await this.restart()
    }

    async deploy(settings?: Record<string, string>): Promise<void> {
        if (this.stopped) throw new Error("sim: session stopped")
        if (settings) {
            this.project.writeSettings(settings)
            this.settings = settings
        }
        const from = this.log.lines.length
        const down = this.log.downReason
        if (down) throw new Error(`sim: ${down}; restart() first`)
        const deadline = Date.now() + this.bootTimeoutMs
        await this.channel.build(this.entry, deadline)
        await this.deployProgram(deadline)
        await this.settleOnStart(from)
    }

    async stop(): Promise<void> {
        if (this.stopped) return
        this.stopped = true
        this.log.close()
        await this.channel.close()
        await this.vm?.stop()
        await this.devtools?.stop()
        this.project.remove()
        this.release()
    }

    [Symbol.asyncDispose](): Promise<void> {
        return this.stop()
    }
}

function timeoutAfter(ms: number, what: string) {
    return new Promise<never>((_, rej) => {
        const t = setTimeout(
            () => rej(new Error(`sim: ${what} timed out`)),
            Math.max(ms, 0)
        )
        t.unref()
    })
}
