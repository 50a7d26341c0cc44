/**
 * A child process of `npm run bench -- fleet`: runs a share of the fake
 * fleet (host/testkit/fake-device.ts: the runtime's crypto, framing and
 * deploy rules) on its own event loop, and reports to its parent over IPC.
 *
 * Schedule, as the runtime's: a device connects, authenticates, answers
 * the hash request, and stays until the service closes the connection; it
 * connects again 32 s after the last message it received. A connection
 * that fails before authentication (refused, reset) is tried again after
 * 1-2 s. Right after answering the service's first hash request the device
 * sends a PingCloud (the runtime pings every few seconds): the service
 * answers in order, after it has handled the hash answer, so the answer
 * marks the end of the check-in (see {@link CheckIn}); a deploy, or the wait
 * for a deploy slot, may follow it. A check-in is reported when its
 * connection ends.
 */
import { randomInt } from "node:crypto"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { FakeDevice } from "../testkit/fake-device.ts"
import { Cmd } from "../fleet/index.ts"
import type { BenchDevice, ChildReport, ParentCommand } from "./fleet-ipc.ts"

/** The runtime reconnects this long after the last message it received. */
const RECONNECT_MS = 32_000

interface Running {
    fake: FakeDevice
    timer?: NodeJS.Timeout
    /** Ends the current connection (undefined when none). */
    drop?: () => void
}

const devices: Running[] = []
let stopping = false
let report: ChildReport = emptyReport()

function emptyReport(): ChildReport {
    return {
        type: "report",
        checkIns: [],
        auths: [],
        updated: [],
        deployMs: [],
        failedConnects: 0,
        failures: {},
        loopDelayMs: 0,
    }
}

/** This process's own lateness: a check-in it times includes it. */
const loopDelay = monitorEventLoopDelay({ resolution: 10 })
loopDelay.enable()

function schedule(d: Running, atMs: number) {
    clearTimeout(d.timer)
    d.timer = setTimeout(() => connect(d), Math.max(0, atMs - Date.now()))
}

/** One connection, like the runtime's: from TCP connect to the service's close. */
function connect(d: Running) {
    if (stopping) return
    const start = Date.now()
    let last = start
    let authMs = 0
    let pinged = false
    let installedBefore = d.fake.installed.length
    let deployed = false
    let deployStart = 0
    /** When the check-in ended: the ping answered (a deploy may follow). */
    let answeredMs: number | undefined
    const s = d.fake.connect({
        onOpen: () => {
            last = Date.now()
            authMs = last - start
            report.auths.push(last)
        },
        onCommand: (cmd, _p, send) => {
            last = Date.now()
            if (cmd === Cmd.GetHash && !pinged) {
                pinged = true
                send(Cmd.PingCloud, Buffer.from([1, 2, 3, 4]))
            } else if (cmd === Cmd.PingCloud) answeredMs ??= last - start
            else if (cmd === Cmd.DeployStart) {
                deployed = true
                deployStart = last
            } else if (
                cmd === Cmd.GetHash &&
                d.fake.installed.length > installedBefore
            ) {
                // the verification request after a complete deploy: answered
                installedBefore = d.fake.installed.length
                report.updated.push(last)
                report.deployMs.push(last - deployStart)
            }
        },
    })
    let dropped = false
    const drop = () => {
        dropped = true
        s.drop()
    }
    d.drop = drop
    s.ended.then(({ authenticated, reason }) => {
        if (d.drop === drop) d.drop = undefined
        // reported at the end, to say whether a deploy followed
        if (answeredMs !== undefined)
            report.checkIns.push({ start, ms: answeredMs, authMs, deployed })
        if (stopping || dropped) return
        if (!authenticated) {
            report.failedConnects++
            const why = reason.replace(/\d+\.\d+\.\d+\.\d+:\d+/g, "ADDR")
            report.failures[why] = (report.failures[why] ?? 0) + 1
            schedule(d, Date.now() + 1000 + randomInt(1000))
        } else schedule(d, last + RECONNECT_MS)
    })
}

function init(list: BenchDevice[], program: Buffer) {
    for (const b of list)
        devices.push({
            fake: new FakeDevice({
                connectionString: b.connectionString,
                localAddress: b.localAddress,
                program,
            }),
        })
}

process.on("message", (m: ParentCommand) => {
    switch (m.type) {
        case "init":
            init(m.devices, Buffer.from(m.program, "base64"))
            process.send!({ type: "ready" })
            break
        case "start": {
            // first connections spread evenly over `spreadMs` (0: all at once)
            const t0 = Date.now()
            devices.forEach((d, i) =>
                schedule(d, t0 + (m.spreadMs * i) / devices.length)
            )
            break
        }
        case "reconnect-all":
            // a service restart as the fleet sees it: every device at once
            for (const d of devices) {
                d.drop?.()
                schedule(d, Date.now())
            }
            break
        case "stop":
            stopping = true
            for (const d of devices) {
                clearTimeout(d.timer)
                d.drop?.()
            }
            flush()
            setTimeout(() => process.exit(0), 200)
            break
    }
})

function flush() {
    const r = report
    r.loopDelayMs = loopDelay.count ? loopDelay.percentile(99) / 1e6 : 0
    loopDelay.reset()
    report = emptyReport()
    process.send!(r)
}
setInterval(flush, 500).unref()
process.on("disconnect", () => process.exit(0))
