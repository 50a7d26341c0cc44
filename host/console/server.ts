/**
 * The console's web server (Node's `http`): the page and its assets, the
 * fleet and readings as JSON, live updates as server-sent events, and the
 * rollout actions. Every request but for the page's scripts and styles
 * needs the access token (see access.ts). Its sockets are bounded
 * (connection-limits.ts), and so is what it keeps of devices the fleet
 * does not know (readings.ts).
 */
import type { KeyObject } from "node:crypto"
import http from "node:http"
import type { AddressInfo } from "node:net"
import {
    type ArtifactStore,
    type FleetStore,
    keyFingerprint,
    queryControl,
} from "../fleet/index.ts"
import { newToken, refusal } from "./access.ts"
import { ACTIONS, ActionError, runAction, type ActionName } from "./actions.ts"
import { asset, indexPage } from "./assets.ts"
import {
    type ConnectionLimits,
    limitConnections,
    serverTimeouts,
} from "./connection-limits.ts"
import { HttpError } from "../lib/http-request.ts"
import { visibleText } from "../lib/visible-text.ts"
import { readJsonBody, send, sendJson } from "./http-util.ts"
import { EventStreams } from "./live.ts"
import { ReadingsFeed } from "./readings.ts"
import { SignatureChecker } from "./signatures.ts"
import { deviceEvents, fleetSnapshot } from "./snapshot.ts"

/** What the console shows and where it listens. */
export interface ConsoleOptions extends ConnectionLimits {
    store: FleetStore
    artifacts: ArtifactStore
    /** Release public key to check version signatures with. */
    releaseKey?: KeyObject
    /** The service's control socket (live figures), if any. */
    controlSocket?: string
    /** The platform emulator's admin API, for the readings view. */
    platformAdmin?: string
    /** TCP port (0, the default: a free one). */
    port?: number
    /** Address to listen on (default 127.0.0.1). */
    listen?: string
    /** The access token (default: a fresh random one). */
    token?: string
    /** How often the database and the admin API are read (default 500 ms). */
    pollMs?: number
    /** Readings kept per device (default 300). */
    keepReadings?: number
    /** Devices unknown to the fleet whose readings are kept (default 64). */
    maxUnknownDevices?: number
    /** One line per action. */
    log?: (line: string) => void
}

/** A running console. */
export interface ConsoleServer {
    readonly port: number
    readonly token: string
    /** The URL to open: `http://HOST:PORT/?token=...`. */
    readonly url: string
    close(): Promise<void>
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/

/** Starts the console. */
export async function startConsole(o: ConsoleOptions): Promise<ConsoleServer> {
    const token = o.token ?? newToken()
    const listen = o.listen ?? "127.0.0.1"
    const loopback = LOOPBACK.test(listen)
    const pollMs = o.pollMs ?? 500
    // names in a line are shown with their control characters escaped
    const log = (line: string) => o.log?.(visibleText(line))
    const signatures = new SignatureChecker(o.artifacts, o.releaseKey)
    const fingerprint = o.releaseKey ? keyFingerprint(o.releaseKey) : ""
    const feed = o.platformAdmin
        ? new ReadingsFeed(o.platformAdmin, o.keepReadings, o)
        : undefined
    const streams = new EventStreams()
    let live: any
    let fleetJson = ""
    /** What the last snapshot was built from: the store's change mark and the live figures. */
    let builtFrom = ""
    /** How long the last snapshot took to build (the next poll waits at least 4 times that). */
    let buildMs = 0

    const snapshot = () => fleetSnapshot(o.store, signatures, live, fingerprint)
    const readingsState = () =>
        feed ? feed.state() : { error: "", devices: {}, off: true }

    async function route(
        req: http.IncomingMessage,
        res: http.ServerResponse,
        port: number
    ) {
        const why = refusal(req, { token, port, loopback })
        if (why)
            return send(
                res,
                why.status,
                "text/plain; charset=utf-8",
                why.text + "\n"
            )
        const u = new URL(req.url ?? "/", "http://x")
        if (req.method === "POST") {
            const name = u.pathname.replace(/^\/api\//, "") as ActionName
            if (!u.pathname.startsWith("/api/") || !ACTIONS.includes(name))
                return sendJson(res, 404, { error: `no action ${u.pathname}` })
            const body = await readJsonBody(req)
            const message = await o.store.atomically(tx =>
                runAction(tx, name, body)
            )
            log(`action ${name}: ${message}`)
            await tick(true) // the change reaches every page at once
            return sendJson(res, 200, { message })
        }
        switch (u.pathname) {
            case "/":
                // the page sends the token in a header on its own requests (no cookie)
                return send(
                    res,
                    200,
                    "text/html; charset=utf-8",
                    indexPage(token)
                )
            case "/api/fleet":
                return sendJson(res, 200, await snapshot())
            case "/api/device": {
                const id = u.searchParams.get("id") ?? ""
                const device = (await snapshot()).devices.find(d => d.id === id)
                // one answer for an unknown id and a malformed one
                if (!device)
                    return sendJson(res, 404, { error: "no such device" })
                return sendJson(res, 200, {
                    device,
                    events: await deviceEvents(o.store, id),
                })
            }
            case "/api/readings":
                return sendJson(res, 200, readingsState())
            case "/events": {
                const ok = streams.add(res, [
                    ["fleet", await snapshot()],
                    ["readings-init", readingsState()],
                ])
                if (!ok) sendJson(res, 503, { error: "too many open pages" })
                return
            }
        }
        const a = asset(u.pathname)
        if (a) return send(res, 200, a.type, a.body)
        sendJson(res, 404, { error: `nothing at ${u.pathname}` })
    }

    const server = http.createServer(serverTimeouts(o), (req, res) => {
        route(req, res, (server.address() as AddressInfo).port).catch(e => {
            const status =
                e instanceof HttpError
                    ? e.status
                    : e instanceof ActionError || e instanceof RangeError
                      ? 400
                      : 500
            if (res.headersSent) return res.end()
            sendJson(res, status, { error: (e as Error).message })
            if (!req.complete) req.destroy()
        })
    })
    const stopLimits = limitConnections(server, o)

    /** Reads the database and the admin API once; sends what changed. */
    let ticking = Promise.resolve()
    function tick(force = false): Promise<void> {
        // one read at a time: an action's read waits for the loop's
        const run = () => tickNow(force)
        ticking = ticking.then(run, run)
        return ticking
    }
    async function tickNow(force: boolean) {
        live = o.controlSocket
            ? await queryControl(o.controlSocket, 1000)
            : undefined
        // rebuilt only when another process committed (the service, the
        // CLI), the live figures changed, or this console acted
        const from = `${await o.store.changeMark()} ${JSON.stringify(live)}`
        if (force || from !== builtFrom) {
            const t0 = Date.now()
            const snap = await snapshot()
            feed?.setKnown(snap.devices.map(d => d.platformId).filter(Boolean))
            const json = JSON.stringify(snap)
            buildMs = Date.now() - t0
            builtFrom = from
            if (json !== fleetJson) {
                fleetJson = json
                streams.broadcast("fleet", JSON.parse(json))
            }
        }
        if (feed) {
            const before = feed.error
            const u = await feed.poll()
            if (
                u.points.length ||
                u.markers.length ||
                u.forgotten.length ||
                feed.error !== before
            )
                streams.broadcast("readings", { ...u, error: feed.error })
        }
    }
    let timer: NodeJS.Timeout | undefined
    let closed = false
    const loop = async () => {
        try {
            await tick()
        } catch (e) {
            log(`poll failed: ${(e as Error).message}`)
        }
        // a large fleet's snapshot takes a while: keep the console's share of the CPU small
        if (!closed) timer = setTimeout(loop, Math.max(pollMs, 4 * buildMs))
    }

    await new Promise<void>((resolve, reject) => {
        server.once("error", reject)
        server.listen(o.port ?? 0, listen, () => {
            server.off("error", reject)
            resolve()
        })
    })
    await loop()
    const port = (server.address() as AddressInfo).port
    const host = listen.includes(":") ? `[${listen}]` : listen
    return {
        port,
        token,
        url: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}/?token=${token}`,
        async close() {
            closed = true
            clearTimeout(timer)
            stopLimits()
            streams.close()
            server.closeAllConnections()
            await new Promise<void>(r => server.close(() => r()))
        },
    }
}
