/**
 * `npm run fleet -- <command>`: the rollout CLI and the service.
 *
 *   serve [--port N] [--hold-ms N] [--platform-admin URL]   run the deployment service
 *   add-device ID [--group G]... [--platform PK/DN] [--host H --port N]   register; prints its connection string
 *   connstr ID --port N                          the device's connection string
 *   publish FILE.devs NAME [--note TEXT]         check and store a built firmware version
 *   assign NAME device:ID | group:G | N% | all   assign a version (a new rollout)
 *   widen N% [--rollout ID]                      widen a percentage rollout
 *   stop [--rollout ID] [--reason TEXT]          stop a rollout (no more devices get it)
 *   rollback [--rollout ID | --device ID]        return devices to the previous version
 *   status | versions | rollouts | log           show the fleet
 *
 * State: `--state DIR` (default `state/fleet`): `fleet.db` (SQLite) and
 * `artifacts/<hash>.devs`.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { parseArgs } from "node:util"
import {
    ArtifactStore,
    inspectImage,
    verifyWithToolchain,
} from "./artifacts.ts"
import { formatConnectionString, newDeviceKey } from "./protocol.ts"
import {
    assign,
    fleetView,
    parseScope,
    rollback,
    scopeText,
    stop,
    widen,
} from "./rollout.ts"
import { DEVICE_PATH, startFleetService } from "./service.ts"
import { SqliteStore, type DeviceRecord } from "./storage.ts"

const { values: o, positionals: args } = parseArgs({
    allowPositionals: true,
    options: {
        state: { type: "string", default: "state/fleet" },
        port: { type: "string" },
        host: { type: "string", default: "127.0.0.1" },
        "hold-ms": { type: "string" },
        group: { type: "string", multiple: true },
        platform: { type: "string" },
        "platform-admin": { type: "string" },
        note: { type: "string", default: "" },
        rollout: { type: "string" },
        device: { type: "string" },
        reason: { type: "string", default: "stopped by hand" },
    },
})

const artifacts = new ArtifactStore(join(o.state!, "artifacts")) // creates the directory
const store = new SqliteStore(join(o.state!, "fleet.db"))
const rolloutId = o.rollout === undefined ? undefined : Number(o.rollout)
const cmd = args[0]

function connStr(d: DeviceRecord, port: number) {
    return formatConnectionString({
        host: o.host!,
        port,
        path: DEVICE_PATH + encodeURIComponent(d.id),
        key: Buffer.from(d.key, "hex"),
    })
}

/** Reports source for the platform emulator's admin API (`GET /messages`). */
function platformReports(adminUrl: string) {
    return async (d: DeviceRecord, since: number) => {
        if (!d.platformId) return undefined
        const [pk, dn] = d.platformId.split("/")
        const r = await fetch(new URL("/messages", adminUrl))
        const msgs = (await r.json()) as {
            time: string
            productKey: string
            deviceName: string
        }[]
        const m = msgs.filter(
            x =>
                x.productKey === pk &&
                x.deviceName === dn &&
                Date.parse(x.time) >= since
        )
        return m.length ? Date.parse(m[m.length - 1].time) : undefined
    }
}

try {
    switch (cmd) {
        case "serve": {
            const svc = await startFleetService({
                store,
                artifacts,
                port: o.port ? Number(o.port) : 0,
                holdMs: o["hold-ms"] ? Number(o["hold-ms"]) : undefined,
                reportSource: o["platform-admin"]
                    ? platformReports(o["platform-admin"])
                    : undefined,
                log: l => console.log(`${new Date().toISOString()} ${l}`),
            })
            console.log(
                `fleet service on ws://127.0.0.1:${svc.port}${DEVICE_PATH}<device>, state in ${o.state}`
            )
            const quit = async () => {
                await svc.close()
                store.close()
                process.exit(0)
            }
            process.on("SIGINT", quit)
            process.on("SIGTERM", quit)
            break
        }
        case "add-device": {
            const id = args[1]
            if (!id || !/^[A-Za-z0-9._-]{1,64}$/.test(id))
                throw new RangeError("add-device ID ([A-Za-z0-9._-])")
            const old = store.device(id)
            const d: DeviceRecord = {
                id,
                key: old?.key ?? newDeviceKey().toString("hex"),
                groups: o.group ?? old?.groups ?? [],
                platformId: o.platform ?? old?.platformId ?? "",
                createdAt: old?.createdAt ?? Date.now(),
            }
            store.upsertDevice(d)
            console.log(
                o.port
                    ? connStr(d, Number(o.port))
                    : `${id} registered; connection string: fleet connstr ${id} --port N`
            )
            break
        }
        case "connstr": {
            const d = store.device(args[1])
            if (!d || !o.port) throw new RangeError("connstr ID --port N")
            console.log(connStr(d, Number(o.port)))
            break
        }
        case "publish": {
            const [, file, name] = args
            if (!file || !name) throw new RangeError("publish FILE.devs NAME")
            const image = readFileSync(file)
            inspectImage(image)
            verifyWithToolchain(file)
            const info = artifacts.put(image)
            store.addVersion({
                name,
                hash: info.hash,
                size: info.size,
                note: o.note!,
                publishedAt: Date.now(),
            })
            console.log(
                `published ${name}: ${info.hash} (${info.size} bytes, format ${info.format})`
            )
            break
        }
        case "assign": {
            const r = assign(store, args[1], parseScope(args[2] ?? ""))
            console.log(
                `rollout ${r.id}: ${r.version} to ${scopeText(r.scope)}`
            )
            break
        }
        case "widen": {
            const r = widen(store, parseFloat(args[1]), rolloutId)
            console.log(
                `rollout ${r.id}: ${r.version} to ${scopeText(r.scope)}`
            )
            break
        }
        case "stop": {
            const r = stop(store, o.reason!, rolloutId)
            console.log(`rollout ${r.id} (${r.version}) stopped`)
            break
        }
        case "rollback": {
            const { rollout, to } = rollback(store, {
                id: rolloutId,
                deviceId: o.device,
            })
            console.log(
                o.device
                    ? `${o.device} returns to ${to} (rollout ${rollout.id})`
                    : `rollout ${rollout.id} (${rollout.version}) rolled back`
            )
            break
        }
        case "status":
            console.table(
                fleetView(store).map(r => ({
                    device: r.id,
                    groups: r.groups.join(","),
                    connected: r.connected,
                    runs: r.current,
                    assigned: r.desired,
                    "last deploy": r.lastDeploy,
                    health: r.health,
                    "last error": r.lastError,
                }))
            )
            break
        case "versions":
            console.table(
                store.versions().map(v => ({
                    name: v.name,
                    hash: v.hash.slice(0, 16),
                    size: v.size,
                    note: v.note,
                }))
            )
            break
        case "rollouts":
            console.table(
                store.rollouts().map(r => ({
                    id: r.id,
                    version: r.version,
                    scope: scopeText(r.scope),
                    status: r.status,
                    reason: r.reason,
                }))
            )
            break
        case "log":
            for (const e of store.events(50))
                console.log(
                    `${new Date(e.at).toISOString()} ${e.deviceId} ${e.kind} ${e.detail}`
                )
            break
        default:
            console.error(
                readFileSync(new URL(import.meta.url), "utf8")
                    .split("*/")[0]
                    .replace(/^\/\*\*|^ \* ?/gm, "")
            )
            process.exitCode = cmd ? 2 : 0
    }
} catch (e) {
    console.error(`fleet: ${(e as Error).message}`)
    process.exitCode = 1
} finally {
    if (cmd !== "serve") store.close()
}
