/**
 * One device connection after the websocket upgrade: the runtime's cloud
 * handshake (see protocol.ts), then the hash check, deploy and
 * verification. Nothing about the device is written before it has proved
 * its key; a failed handshake is reported to the service (which counts it
 * in memory) and the connection is closed.
 *
 * Every store call awaits, so a device's frames, timeouts and close are
 * handled as tasks queued per device (`SessionContext.serial`): one at a
 * time and in order, also across an old and a new session of one device.
 * A task checks `closed` after its reads, before it starts anything.
 */
import { randomBytes, type KeyObject } from "node:crypto"
import type { WebSocket } from "ws"
import { type ArtifactStore } from "./artifacts.ts"
import { InboundFlow, type MessageLimits } from "./back-pressure.ts"
import {
    AUTH_BYTES,
    Cmd,
    cmdName,
    DEPLOY_CHUNK,
    encodeHello,
    SecureChannel,
    sessionKey,
} from "./protocol.ts"
import type { InstanceLeases } from "./instance-lease.ts"
import { desiredNow, type Desired } from "./rollout.ts"
import { markBroken, refuseArtifact, type EventSink } from "./rollout-guard.ts"
import { verifyRelease } from "./signing.ts"
import type { DeviceRecord, DeviceState, FleetStore } from "./storage.ts"

/** Websocket close codes the service uses (RFC 6455 section 7.4.1). */
export const CloseCode = {
    Normal: 1000,
    GoingAway: 1001,
    Unsupported: 1003,
    Policy: 1008,
    TooBig: 1009,
    ServerError: 1011,
    TryAgainLater: 1013,
} as const

/** What a session needs from the service. */
export interface SessionContext {
    store: FleetStore
    /** This instance's owner id and leases (a deploy holds `deploy:<id>`). */
    leases: InstanceLeases
    artifacts: ArtifactStore
    /** Public key release signatures must check against. */
    releaseKey: KeyObject
    now: () => number
    holdMs: number
    stepTimeoutMs: number
    /** An authenticated device that sends nothing this long is closed. */
    idleTimeoutMs: number
    maxFailures: number
    autoStop: boolean
    log: (line: string) => void
    event: EventSink
    /** The device proved its key (the session is now the device's). */
    authenticated(s: Session): void
    /** What a device may send unasked, and have waiting (back-pressure.ts). */
    messageLimits?: MessageLimits
    /** The device went beyond its message rate and is being closed (logged once). */
    overRate(s: Session, why: string): void
    /** The peer failed the handshake; nothing was written about the device. */
    handshakeFailed(s: Session, reason: string): void
    /** The connection ended (after `authenticated`, or not). */
    ended(s: Session, reason: string): void
    /**
     * Queues a task of device `deviceId`: tasks of one device run one at a
     * time, in order (see keyed-queue.ts).
     */
    serial(deviceId: string, task: () => Promise<void>): void
}

/** A connection's messages update the device's `lastSeen` at most this often. */
const LAST_SEEN_EVERY_MS = 1000

type Step = "auth" | "hash" | "start" | "write" | "finish" | "verify" | "idle"

/** A device connection, from the hello to its close. */
export class Session {
    step: Step = "auth"
    private readonly channel: SecureChannel
    private readonly flow: InboundFlow
    /** The deploy running: what, and when it started (its `lastDeployAt`). */
    private target?: Desired & { image: Buffer; startedAt: number }
    private offset = 0
    private timer?: NodeJS.Timeout
    private holdTimer?: NodeJS.Timeout
    private idleTimer?: NodeJS.Timeout
    /** Counts `arm` calls: a step timeout queued before a later arm is stale. */
    private armed = 0
    private rechecking = false
    private closed = false
    /** When this session last wrote the device's `lastSeen`. */
    private lastSeenWritten = 0

    constructor(
        private readonly ctx: SessionContext,
        readonly device: DeviceRecord,
        readonly ws: WebSocket,
        clientNonce: Buffer,
        /** The peer's address, for logs. */
        readonly peer: string
    ) {
        const seed = randomBytes(16)
        this.channel = new SecureChannel(
            sessionKey(Buffer.from(device.key, "hex"), clientNonce, seed),
            "server"
        )
        this.flow = new InboundFlow(ws, ctx.messageLimits, ctx.now)
        ws.on("message", (data, isBinary) =>
            this.onFrame(data as Buffer, isBinary)
        )
        ws.on("close", (code, reason) =>
            this.onClose(`closed (${code}${reason.length ? " " + reason : ""})`)
        )
        ws.on("error", () => {}) // ws closes the connection itself; the service logs it
        ws.send(encodeHello(seed))
    }

    get authenticatedYet(): boolean {
        return this.step !== "auth"
    }

    /** Whether the session has ended. */
    get ended(): boolean {
        return this.closed
    }

    /**
     * Closes with a code and reason and ends the session at once (the
     * server's `closeTimeout` ends the socket when the peer does not answer).
     */
    close(code: number = CloseCode.Normal, reason = "") {
        // the session ends now, and its records are queued before the peer
        // can see the close frame
        this.onClose(
            `closed by the service (${code}${reason ? " " + reason : ""})`
        )
        if (this.ws.readyState < 2) this.ws.close(code, reason)
    }

    /** Queues a task of this device; an error closes the session. */
    private work(task: () => Promise<void>) {
        this.ctx.serial(this.device.id, async () => {
            try {
                await task()
            } catch (e) {
                this.ctx.log(
                    `${this.device.id}: ${(e as Error).stack ?? String(e)}`
                )
                this.close(CloseCode.ServerError, "internal error")
            }
        })
    }

    private send(cmd: number, payload: Buffer = Buffer.alloc(0)) {
        this.ws.send(
            this.channel.seal(Buffer.concat([Buffer.from([cmd]), payload]))
        )
        // everything but the echo of a ping asks for an answer
        if (cmd !== Cmd.PingCloud) this.flow.asked()
        this.flow.sent()
    }

    /** While idle and held: check again when the assignment changed. */
    recheck() {
        if (this.step !== "idle" || this.closed || this.rechecking) return
        this.rechecking = true
        this.work(async () => {
            try {
                await this.recheckNow()
            } finally {
                this.rechecking = false
            }
        })
    }

    private async recheckNow() {
        if (this.step !== "idle" || this.closed) return
        const { store } = this.ctx
        const want = await desiredNow(store, this.device.id)
        const st = await store.state(this.device.id)
        if (this.step !== "idle" || this.closed) return
        if (!want || want.hash === st.currentHash) return
        if (
            st.lastDeployHash === want.hash &&
            (st.lastDeployResult === "refused" ||
                st.deployFailures >= this.ctx.maxFailures)
        )
            return
        clearTimeout(this.holdTimer)
        this.send(Cmd.GetHash)
        this.arm("hash")
    }

    /** Waits for the next device answer of this step, with a timeout. */
    private arm(step: Step) {
        if (this.closed) return
        this.step = step
        const armed = ++this.armed
        clearTimeout(this.timer)
        clearTimeout(this.holdTimer)
        if (step === "idle") {
            this.holdTimer = setTimeout(() => this.close(), this.ctx.holdMs)
            return
        }
        this.timer = setTimeout(
            () =>
                this.work(async () => {
                    if (armed !== this.armed || this.closed) return
                    await this.fail(
                        `no answer to ${step} within ${this.ctx.stepTimeoutMs} ms`
                    )
                }),
            this.ctx.stepTimeoutMs
        )
    }

    private touchIdle() {
        clearTimeout(this.idleTimer)
        this.idleTimer = setTimeout(() => {
            this.ctx.log(
                `${this.device.id}: nothing heard for ${this.ctx.idleTimeoutMs} ms: closing`
            )
            this.close(CloseCode.GoingAway, "idle")
        }, this.ctx.idleTimeoutMs)
    }

    private onFrame(raw: Buffer, isBinary: boolean) {
        if (this.closed) return
        if (!isBinary) {
            if (this.step === "auth")
                this.ctx.handshakeFailed(this, "text message")
            this.close(CloseCode.Unsupported, "binary messages only")
            return
        }
        if (this.step === "auth") return this.onAuth(raw)
        if (!this.flow.admit()) {
            const { perSecond = 20, burst = 100 } = this.ctx.messageLimits ?? {}
            this.ctx.overRate(
                this,
                `more than ${perSecond} messages a second (burst ${burst}): closed (${CloseCode.Policy})`
            )
            this.close(CloseCode.Policy, "too many messages")
            return
        }
        this.touchIdle()
        this.flow.enqueued()
        this.work(() => this.onMessage(raw).finally(() => this.flow.handled()))
    }

    private onAuth(raw: Buffer) {
        const msg = this.channel.open(raw)
        if (!msg || msg.length !== AUTH_BYTES || msg.some(b => b !== 0)) {
            this.ctx.handshakeFailed(this, "wrong key")
            this.close(CloseCode.Policy, "authentication failed")
            return
        }
        this.step = "hash"
        // closes an older session of the device: its records queue first
        this.ctx.authenticated(this)
        this.ws.send(this.channel.seal(Buffer.alloc(AUTH_BYTES)))
        const id = this.device.id
        this.lastSeenWritten = this.ctx.now()
        this.work(() =>
            this.ctx.store.atomically(async tx => {
                await tx.updateState(id, {
                    connected: true,
                    connectedTo: this.ctx.leases.owner,
                    lastSeen: this.lastSeenWritten,
                })
                await this.ctx.event(tx, id, "connected", "")
            })
        )
        this.touchIdle()
        this.send(Cmd.GetHash)
        this.arm("hash")
    }

    private async onMessage(raw: Buffer) {
        if (this.closed) return
        const { store, now } = this.ctx
        const id = this.device.id
        const msg = this.channel.open(raw)
        if (!msg) {
            await this.fail("message with a bad tag")
            this.close(CloseCode.Policy, "bad message")
            return
        }
        // at most once a second: every deploy answer was a database commit
        if (now() - this.lastSeenWritten >= LAST_SEEN_EVERY_MS) {
            this.lastSeenWritten = now()
            await store.updateState(id, { lastSeen: this.lastSeenWritten })
        }
        const cmd = msg[0]
        const payload = msg.subarray(1)
        switch (cmd) {
            case Cmd.PingCloud:
                this.send(Cmd.PingCloud, payload)
                return
            case Cmd.Dmesg:
                return
            case Cmd.ExceptionReport: {
                const text = payload.toString("utf8").slice(-400)
                await store.atomically(async tx => {
                    await tx.updateState(id, {
                        lastException: text,
                        lastExceptionAt: now(),
                    })
                    await markBroken(
                        tx,
                        this.ctx.event,
                        id,
                        "crashed",
                        text.split("\n").find(l => l.trim()) ?? "",
                        { autoStop: this.ctx.autoStop, now: now() }
                    )
                })
                return
            }
            case Cmd.Error:
                await this.fail(`device refused ${this.step}`)
                return
            case Cmd.GetHash:
                if (this.step === "hash" || this.step === "verify")
                    await this.onHash(payload)
                return
            case Cmd.DeployStart:
            case Cmd.DeployWrite:
                if (this.step === "start" || this.step === "write")
                    if (await this.keepLease()) this.writeNext()
                return
            case Cmd.DeployFinish:
                if (this.step === "finish" && (await this.keepLease())) {
                    this.send(Cmd.GetHash)
                    this.arm("verify")
                }
                return
            default:
                this.ctx.log(`${id}: ignored ${cmdName(cmd)}`)
        }
    }

    private async onHash(payload: Buffer) {
        const { store, now } = this.ctx
        const id = this.device.id
        if (payload.length < 32) return this.fail("short hash")
        const hash = payload.subarray(0, 32).toString("hex")
        if (this.step === "verify") {
            // the deploy ends here: a close from now on does not fail it
            const t = this.target!
            this.target = undefined
            if (hash === t.hash)
                await store.atomically(async tx => {
                    await tx.updateState(id, {
                        currentHash: hash,
                        lastDeployResult: "ok",
                        lastDeployAt: now(),
                        deployFailures: 0,
                        health: "unknown",
                        lastError: "",
                    })
                    await this.ctx.event(
                        tx,
                        id,
                        "deployed",
                        `${t.version} (${t.hash.slice(0, 12)})`
                    )
                })
            else {
                await store.updateState(id, { currentHash: hash })
                await this.fail(
                    `after the deploy the device reports ${hash.slice(0, 12)}, not ${t.hash.slice(0, 12)}`,
                    true,
                    t.startedAt
                )
            }
            await this.ctx.leases.releaseDeploy(id)
            this.arm("idle")
            return
        }
        await store.updateState(id, { currentHash: hash })
        const want = await desiredNow(store, id)
        if (!want || want.hash === hash) return this.arm("idle")
        const st = await store.state(id)
        if (
            st.lastDeployHash === want.hash &&
            st.deployFailures >= this.ctx.maxFailures
        ) {
            this.ctx.log(
                `${id}: not trying ${want.version} again after ${st.deployFailures} failures`
            )
            return this.arm("idle")
        }
        if (this.closed) return
        const image = await this.checkedImage(want)
        if (!image) return this.arm("idle")
        // nothing is recorded for a session that ended in the meantime
        if (this.closed) return
        // one deploy per device across the instances that share the store
        if (!(await this.ctx.leases.deploy(id))) {
            this.ctx.log(
                `${id}: another instance deploys to it now: closing (it reconnects later)`
            )
            this.close(CloseCode.Normal, "deploy in progress elsewhere")
            return
        }
        if (this.closed) return this.ctx.leases.releaseDeploy(id)
        if (deployMark(await store.state(id)) !== deployMark(st)) {
            // another instance deployed to it since it told its hash: ask again
            await this.ctx.leases.releaseDeploy(id)
            if (this.closed) return
            this.send(Cmd.GetHash)
            return this.arm("hash")
        }
        if (this.closed) return this.ctx.leases.releaseDeploy(id)
        const startedAt = now()
        this.target = { ...want, image, startedAt }
        this.offset = 0
        await store.atomically(async tx => {
            const before = await tx.state(id)
            if (before.lastDeployResult === "in-progress") {
                // its lease was free: the instance that ran it went unheard
                await tx.updateState(id, {
                    lastDeployResult: "failed",
                    deployFailures: before.deployFailures + 1,
                })
                await this.ctx.event(
                    tx,
                    id,
                    "deploy-failed",
                    "taken over: the instance that ran it went unheard"
                )
            }
            await tx.updateState(id, {
                lastDeployResult: "in-progress",
                lastDeployHash: want.hash,
                deployBy: this.ctx.leases.owner,
                lastDeployAt: startedAt,
                health: "unknown",
            })
            await this.ctx.event(
                tx,
                id,
                "deploying",
                `${want.version} (${image.length} bytes) replacing ${hash.slice(0, 12)}`
            )
        })
        const size = Buffer.alloc(4)
        size.writeUInt32LE(image.length, 0)
        this.send(Cmd.DeployStart, size)
        this.arm("start")
    }

    /**
     * The artifact of `want`, re-read, re-hashed, re-checked and its release
     * signature verified; undefined (refusal recorded, rollout stopped) when
     * any check fails. Runs before DeployStart, so the device keeps its program.
     */
    private async checkedImage(want: Desired): Promise<Buffer | undefined> {
        const { store, now } = this.ctx
        const v = await store.versionByName(want.version)
        try {
            const image = await this.ctx.artifacts.getShared(want.hash, store)
            verifyRelease(image, v?.signature ?? "", this.ctx.releaseKey)
            return image
        } catch (e) {
            await refuseArtifact(
                store,
                this.ctx.event,
                this.device.id,
                want,
                (e as Error).message,
                { autoStop: this.ctx.autoStop, now: now() }
            )
            return undefined
        }
    }

    private writeNext() {
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

    /**
     * Renews the deploy lease at a step of the deploy; when another
     * instance has taken it over (this one went unheard past its TTL), the
     * deploy is given up and the session closed.
     */
    private async keepLease(): Promise<boolean> {
        if (await this.ctx.leases.deploy(this.device.id)) return true
        await this.fail("the deploy lease went to another instance")
        this.close(CloseCode.Normal, "deploy taken over")
        return false
    }

    /**
     * Records an error; with `deploying` (default: a deploy runs) a failed
     * deploy, when the record is still this deploy's and this instance
     * still holds its lease (else the device is another instance's now:
     * only the event is recorded), and gives the lease up.
     */
    private async fail(
        why: string,
        deploying = this.target !== undefined,
        startedAt = this.target?.startedAt
    ) {
        const { store, now, leases } = this.ctx
        const id = this.device.id
        this.target = undefined
        this.arm("idle")
        await store.atomically(async tx => {
            const st = await tx.state(id)
            const mine =
                !deploying ||
                ((startedAt === undefined ||
                    (st.lastDeployResult === "in-progress" &&
                        st.lastDeployAt === startedAt)) &&
                    (await leases.deploy(id, tx)))
            if (!mine)
                // another instance deploys to the device now: its record stays
                return this.ctx.event(tx, id, "error", why)
            await tx.updateState(id, {
                lastError: why,
                lastErrorAt: now(),
                ...(deploying
                    ? {
                          lastDeployResult: "failed" as const,
                          deployFailures: st.deployFailures + 1,
                      }
                    : {}),
            })
            await this.ctx.event(
                tx,
                id,
                deploying ? "deploy-failed" : "error",
                why
            )
        })
        if (deploying) await leases.releaseDeploy(id)
    }

    private onClose(reason: string) {
        if (this.closed) return
        this.closed = true
        clearTimeout(this.timer)
        clearTimeout(this.holdTimer)
        clearTimeout(this.idleTimer)
        if (this.target) {
            const why = `connection ended during the deploy (${reason})`
            const { startedAt } = this.target
            this.work(() => this.fail(why, true, startedAt))
        }
        this.ctx.ended(this, reason)
    }
}

/** What changes in a device's state when a deploy to it starts or ends. */
function deployMark(st: DeviceState): string {
    return `${st.lastDeployResult} ${st.lastDeployHash} ${st.lastDeployAt}`
}
