/**
 * The fleet deployment service: devices connect with their connection
 * string (runtime cloud protocol, see protocol.ts), the service asks for
 * their program hash, deploys the version their rollout assigns when it
 * differs, verifies it, and records every device's state. It listens on
 * 127.0.0.1 only.
 *
 * Schedule: the device has one socket, shared with its program. The
 * service therefore keeps a connection only while it has work (hash check,
 * deploy, verification) plus `holdMs`, then closes it; the runtime
 * reconnects by itself about 32 s after the last message it received, and
 * its program uses the socket in between.
 */
import { createServer, type Server } from "node:http"
import { randomBytes } from "node:crypto"
import { ArtifactError, type ArtifactStore } from "./artifacts.ts"
import {
    AUTH_BYTES,
    Cmd,
    cmdName,
    DEPLOY_CHUNK,
    encodeHello,
    formatConnectionString,
    SecureChannel,
    sessionKey,
} from "./protocol.ts"
import { desiredFor, stop, type Desired } from "./rollout.ts"
import type { DeviceRecord, FleetStore } from "./storage.ts"
import { acceptWebSocket, type WsConnection } from "./websocket.ts"

/** Path prefix of device connections: `/wssk/<deviceId>`. */
export const DEVICE_PATH = "/wssk/"

export interface FleetServiceOptions {
    store: FleetStore
    artifacts: ArtifactStore
    /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
    port?: number
    /**
     * How long an idle, in-sync connection is kept before closing (default
     * 1500 ms). While kept, a changed assignment is deployed at once (checked
     * every `healthCheckMs`); a device whose program does not use the network
     * can be held for long.
     */
    holdMs?: number
    /** Longest wait for each device answer during a deploy (default 15 s). */
    stepTimeoutMs?: number
    /** A deploy of the same version is not tried again after this many failures in a row (default 3). */
    maxDeployFailures?: number
    /**
     * When did the device last report to the platform after `sinceMs`?
     * Undefined: not since. Enables the "silent after update" check.
     */
    reportSource?: (
        device: DeviceRecord,
        sinceMs: number
    ) => Promise<number | undefined> | number | undefined
    /** A device that has not reported this long after its update is "silent" (default 60 s). */
    silentAfterMs?: number
    /** How often health is checked (default 1 s). */
    healthCheckMs?: number
    /** Stop the rollout when a device it updated crashes or goes silent (default true). */
    autoStop?: boolean
    /** One line per event (default: none). */
    log?: (line: string) => void
    now?: () => number
}

/** A running service. */
export interface FleetService {
    readonly port: number
    /** The connection string for a registered device. */
    connectionString(deviceId: string): string
    /** Ids of devices connected now. */
    connected(): string[]
    /** Runs the health check once now. */
    checkHealth(): Promise<void>
    close(): Promise<void>
}

type Step = "auth" | "hash" | "start" | "write" | "finish" | "verify" | "idle"

/** Starts the service. */
export async function startFleetService(
    o: FleetServiceOptions
): Promise<FleetService> {
    const store = o.store
    const now = o.now ?? (() => Date.now())
    const holdMs = o.holdMs ?? 1500
    const stepTimeoutMs = o.stepTimeoutMs ?? 15_000
    const maxFailures = o.maxDeployFailures ?? 3
    const silentAfterMs = o.silentAfterMs ?? 60_000
    const autoStop = o.autoStop ?? true
    const log = o.log ?? (() => {})
    const sessions = new Map<string, Session>()

    function event(deviceId: string, kind: string, detail: string) {
        store.logEvent(deviceId, kind, detail)
        log(`${deviceId}: ${kind}${detail ? " " + detail : ""}`)
    }

    function markBroken(
        deviceId: string,
        health: "crashed" | "silent",
        detail: string
    ) {
        const s = store.state(deviceId)
        store.updateState(deviceId, { health })
        event(deviceId, health, detail)
        if (!autoStop || s.lastDeployResult !== "ok") return
        const want = desiredFor(store, deviceId)
        if (want && want.hash === s.lastDeployHash) {
            const r = store.rollouts().find(x => x.id === want.rolloutId)
            if (r && r.status === "active") {
                stop(
                    store,
                    `${deviceId} ${health} after updating to ${want.version}`,
                    r.id,
                    now()
                )
                event(
                    deviceId,
                    "rollout-stopped",
                    `rollout ${r.id} (${want.version}): ${health}`
                )
            }
        }
    }

    class Session {
        step: Step = "auth"
        channel: SecureChannel
        target?: Desired & { image: Buffer }
        offset = 0
        timer?: NodeJS.Timeout
        holdTimer?: NodeJS.Timeout

        constructor(
            readonly device: DeviceRecord,
            readonly ws: WsConnection,
            clientNonce: Buffer
        ) {
            const seed = randomBytes(16)
            this.channel = new SecureChannel(
                sessionKey(Buffer.from(device.key, "hex"), clientNonce, seed),
                "server"
            )
            ws.onMessage = m => this.onMessage(m)
            ws.onClose = reason => this.onClose(reason)
            ws.send(encodeHello(seed))
            this.arm("auth")
        }

        send(cmd: number, payload: Buffer = Buffer.alloc(0)) {
            this.ws.send(
                this.channel.seal(Buffer.concat([Buffer.from([cmd]), payload]))
            )
        }

        /** Waits for the next device answer of this step, with a timeout. */
        /** While idle and held: check again when the assignment changed. */
        recheck() {
            if (this.step !== "idle") return
            const want = desiredFor(store, this.device.id)
            const st = store.state(this.device.id)
            if (!want || want.hash === st.currentHash) return
            if (
                st.lastDeployHash === want.hash &&
                (st.lastDeployResult === "refused" ||
                    st.deployFailures >= maxFailures)
            )
                return
            clearTimeout(this.holdTimer)
            this.send(Cmd.GetHash)
            this.arm("hash")
        }

        arm(step: Step) {
            this.step = step
            clearTimeout(this.timer)
            clearTimeout(this.holdTimer)
            if (step === "idle") {
                this.holdTimer = setTimeout(() => this.ws.close(), holdMs)
                return
            }
            this.timer = setTimeout(
                () =>
                    this.fail(
                        `no answer to ${step} within ${stepTimeoutMs} ms`
                    ),
                stepTimeoutMs
            )
        }

        onMessage(raw: Buffer) {
            const id = this.device.id
            const msg = this.channel.open(raw)
            if (this.step === "auth") {
                if (
                    !msg ||
                    msg.length !== AUTH_BYTES ||
                    msg.some(b => b !== 0)
                ) {
                    store.updateState(id, {
                        lastError: "authentication failed (wrong key)",
                        lastErrorAt: now(),
                    })
                    event(id, "auth-failed", "")
                    this.ws.close(1008)
                    return
                }
                sessions.get(id)?.ws.close()
                sessions.set(id, this)
                this.ws.send(this.channel.seal(Buffer.alloc(AUTH_BYTES)))
                store.updateState(id, { connected: true, lastSeen: now() })
                event(id, "connected", "")
                this.send(Cmd.GetHash)
                this.arm("hash")
                return
            }
            if (!msg) {
                this.fail("message with a bad tag")
                this.ws.close(1008)
                return
            }
            store.updateState(id, { lastSeen: now() })
            const cmd = msg[0]
            const payload = msg.subarray(1)
            switch (cmd) {
                case Cmd.PingCloud:
                    this.send(Cmd.PingCloud, payload)
                    return
                case Cmd.ExceptionReport:
                case Cmd.Dmesg: {
                    if (cmd === Cmd.Dmesg) return
                    const text = payload.toString("utf8").slice(-400)
                    store.updateState(id, {
                        lastException: text,
                        lastExceptionAt: now(),
                    })
                    markBroken(
                        id,
                        "crashed",
                        text.split("\n").find(l => l.trim()) ?? ""
                    )
                    return
                }
                case Cmd.Error:
                    this.fail(`device refused ${this.step}`)
                    return
                case Cmd.GetHash:
                    if (this.step === "hash" || this.step === "verify")
                        this.onHash(payload)
                    return
                case Cmd.DeployStart:
                case Cmd.DeployWrite:
                    if (this.step === "start" || this.step === "write")
                        this.writeNext()
                    return
                case Cmd.DeployFinish:
                    if (this.step === "finish") {
                        this.send(Cmd.GetHash)
                        this.arm("verify")
                    }
                    return
                default:
                    log(`${id}: ignored ${cmdName(cmd)}`)
            }
        }

        onHash(payload: Buffer) {
            const id = this.device.id
            if (payload.length < 32) return this.fail("short hash")
            const hash = payload.subarray(0, 32).toString("hex")
            store.updateState(id, { currentHash: hash })
            if (this.step === "verify") {
                const t = this.target!
                if (hash === t.hash) {
                    store.updateState(id, {
                        lastDeployResult: "ok",
                        lastDeployAt: now(),
                        deployFailures: 0,
                        health: "unknown",
                        lastError: "",
                    })
                    event(
                        id,
                        "deployed",
                        `${t.version} (${t.hash.slice(0, 12)})`
                    )
                } else
                    this.fail(
                        `after the deploy the device reports ${hash.slice(0, 12)}, not ${t.hash.slice(0, 12)}`
                    )
                this.target = undefined
                this.arm("idle")
                return
            }
            const want = desiredFor(store, id)
            if (!want || want.hash === hash) return this.arm("idle")
            const st = store.state(id)
            if (
                st.lastDeployHash === want.hash &&
                st.deployFailures >= maxFailures
            ) {
                log(
                    `${id}: not trying ${want.version} again after ${st.deployFailures} failures`
                )
                return this.arm("idle")
            }
            let image: Buffer
            try {
                image = o.artifacts.get(want.hash)
            } catch (e) {
                const why = e instanceof ArtifactError ? e.message : String(e)
                store.updateState(id, {
                    lastDeployResult: "refused",
                    lastDeployHash: want.hash,
                    lastDeployAt: now(),
                    lastError: `artifact refused: ${why}`,
                    lastErrorAt: now(),
                })
                event(id, "refused", `${want.version}: ${why}`)
                if (autoStop) {
                    const r = store
                        .rollouts()
                        .find(x => x.id === want.rolloutId)
                    if (r?.status === "active")
                        stop(store, `artifact refused: ${why}`, r.id, now())
                }
                return this.arm("idle")
            }
            this.target = { ...want, image }
            this.offset = 0
            store.updateState(id, {
                lastDeployResult: "in-progress",
                lastDeployHash: want.hash,
                lastDeployAt: now(),
                health: "unknown",
            })
            event(
                id,
                "deploying",
                `${want.version} (${image.length} bytes) replacing ${hash.slice(0, 12)}`
            )
            const size = Buffer.alloc(4)
            size.writeUInt32LE(image.length, 0)
            this.send(Cmd.DeployStart, size)
            this.arm("start")
        }

        writeNext() {
            const img = this.target!.image
            if (this.offset >= img.length) {
                this.send(Cmd.DeployFinish)
                this.arm("finish")
                return
            }
            const chunk = img.subarray(this.offset, this.offset + DEPLOY_CHUNK)
            this.offset += chunk.length
            this.send(Cmd.DeployWrite, chunk)
            this.arm("write")
        }

        fail(why: string) {
            const id = this.device.id
            const deploying = this.target !== undefined
            const st = store.state(id)
            store.updateState(id, {
                lastError: why,
                lastErrorAt: now(),
                ...(deploying
                    ? {
                          lastDeployResult: "failed" as const,
                          deployFailures: st.deployFailures + 1,
                      }
                    : {}),
            })
            event(id, deploying ? "deploy-failed" : "error", why)
            this.target = undefined
            this.arm("idle")
        }

        onClose(reason: string) {
            clearTimeout(this.timer)
            clearTimeout(this.holdTimer)
            const id = this.device.id
            if (this.target)
                this.fail(`connection ended during the deploy (${reason})`)
            if (sessions.get(id) === this) {
                sessions.delete(id)
                store.updateState(id, { connected: false })
                event(id, "disconnected", reason)
            }
        }
    }

    const server: Server = createServer((_req, res) => {
        res.writeHead(404).end()
    })
    server.on("upgrade", (req, socket, head) => {
        const url = req.url ?? ""
        const id = url.startsWith(DEVICE_PATH)
            ? decodeURIComponent(url.slice(DEVICE_PATH.length))
            : ""
        const device = id ? store.device(id) : undefined
        const proto = /^devs-key-([0-9a-f]{32})$/i.exec(
            String(req.headers["sec-websocket-protocol"] ?? "")
        )
        if (!device || !proto) {
            socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            if (id)
                log(
                    `${id}: refused (${device ? "no client nonce" : "unknown device"})`
                )
            return
        }
        new Session(
            device,
            acceptWebSocket(req, socket, head),
            Buffer.from(proto[1], "hex")
        )
    })
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject)
        server.listen(o.port ?? 0, "127.0.0.1", () => resolve())
    })
    const port = (server.address() as { port: number }).port

    async function checkHealth() {
        if (!o.reportSource) return
        const t = now()
        for (const st of store.states()) {
            if (st.lastDeployResult !== "ok" || st.health !== "unknown")
                continue
            const d = store.device(st.id)
            if (!d) continue
            const seen = await o.reportSource(d, st.lastDeployAt)
            if (seen !== undefined) {
                store.updateState(st.id, { health: "ok" })
                event(st.id, "healthy", "reports after the update")
            } else if (t - st.lastDeployAt > silentAfterMs)
                markBroken(
                    st.id,
                    "silent",
                    `no report ${Math.round((t - st.lastDeployAt) / 1000)} s after the update`
                )
        }
    }
    let checking = false
    const healthTimer = setInterval(async () => {
        for (const s of sessions.values()) s.recheck()
        if (checking) return
        checking = true
        try {
            await checkHealth()
        } catch (e) {
            log(`health check failed: ${(e as Error).message}`)
        } finally {
            checking = false
        }
    }, o.healthCheckMs ?? 1000)

    return {
        port,
        connectionString(deviceId: string) {
            const d = store.device(deviceId)
            if (!d) throw new RangeError(`no device ${deviceId}`)
            return formatConnectionString({
                host: "127.0.0.1",
                port,
                path: DEVICE_PATH + encodeURIComponent(d.id),
                key: Buffer.from(d.key, "hex"),
            })
        },
        connected: () => [...sessions.keys()],
        checkHealth,
        async close() {
            clearInterval(healthTimer)
            for (const s of sessions.values()) s.ws.close(1001)
            await new Promise<void>(r => server.close(() => r()))
            for (const st of store.states())
                if (st.connected) store.updateState(st.id, { connected: false })
        },
    }
}
