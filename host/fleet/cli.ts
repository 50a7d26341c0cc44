/**
 * `npm run fleet -- <command>`: the rollout CLI and the service. Its
 * commands, options, defaults and files are in its option table
 * (command.ts), from which `--help` and the CLI reference are made.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import {
    ArtifactStore,
    inspectImage,
    verifyWithToolchain,
} from "./release/artifacts.ts"
import { controlSocketPath, queryControl } from "./service/control.ts"
import { enrolDevice, parseServiceUrl, serviceText } from "./service/enrol.ts"
import { handshakeFailureText } from "./device/handshake-failures.ts"
import { formatConnectionString, newDeviceKey } from "./device/protocol.ts"
import { publishVersion } from "./release/publish.ts"
import { parseScope, scopeText } from "./rollout/desired.ts"
import { assign, rollback, stop, widen } from "./rollout/actions.ts"
import { readFleetData, type FleetData } from "./rollout/fleet-data.ts"
import { fleetView } from "./rollout/view.ts"
import { DEVICE_ID, DEVICE_PATH, startFleetService } from "./service/service.ts"
import {
    defaultKeyDir,
    keyFingerprint,
    loadPrivateKey,
    loadPublicKey,
    PUBLIC_KEY_FILE,
    signRelease,
    writeReleaseKeys,
} from "./release/signing.ts"
import { textBar } from "../lib/cli-progress.ts"
import { helpText, readCommandLine } from "../lib/args.ts"
import { rolloutProgress } from "./rollout/progress.ts"
import { lockStateDir, prepareStateDir } from "./service/state-dir.ts"
import { readPrivateKeyFile } from "../lib/private-key-file.ts"
import { checkOperatorName } from "../lib/operator-name.ts"
import { openFleetStore } from "./store/open.ts"
import type { DeviceRecord } from "./store/types.ts"
import { exitOnSignal } from "../lib/exit-on-signal.ts"
import { keepServing, serviceLog } from "../lib/service-log.ts"
import { FLEET_COMMAND } from "./command.ts"
import { platformReports } from "./service/platform-reports.ts"
import { terminalSafe } from "../lib/terminal-text.ts"

const { values: o, positionals: args } = readCommandLine(FLEET_COMMAND, "fleet")

/** A positive integer option, or undefined when not given. */
function intOption(name: keyof typeof o): number | undefined {
    const v = o[name]
    if (v === undefined) return undefined
    const n = Number(v)
    if (!Number.isInteger(n) || n < 0)
        throw new RangeError(`--${name}: a whole number, not ${v}`)
    return n
}

const cmd = args[0]
const rolloutId = o.rollout === undefined ? undefined : Number(o.rollout)
// everything this process creates is for its user only (keys, database)
process.umask(0o077)

/** The trusted release public key: `--release-key` or the keygen default. */
function releasePublicKey() {
    const file = o["release-key"] ?? join(defaultKeyDir(), PUBLIC_KEY_FILE)
    if (!existsSync(file))
        throw new RangeError(
            `no release public key at ${file}: run "npm run fleet -- keygen" or give --release-key FILE`
        )
    return loadPublicKey(file)
}

function connStr(d: DeviceRecord, port: number) {
    return formatConnectionString({
        host: o.host!,
        port,
        path: DEVICE_PATH + encodeURIComponent(d.id),
        key: Buffer.from(d.key, "hex"),
        tls: o.wss,
    })
}

/**
 * Opens the state directory (checked, created 0700) with its artifacts,
 * and the fleet database: `--db` (a PostgreSQL URL or a SQLite file), by
 * default the directory's `fleet.db`.
 */
async function openState({ lock = false, service = false } = {}) {
    const note = prepareStateDir(o.state!)
    if (note) console.error(`fleet: ${note}`)
    const unlock = lock ? lockStateDir(o.state!) : () => {}
    const artifacts = new ArtifactStore(join(o.state!, "artifacts"))
    const store = await openFleetStore(
        o.db ?? join(o.state!, "fleet.db"),
        {
            maxEvents: intOption("events-max"),
            maxAgeMs:
                o["events-max-age-days"] === undefined
                    ? undefined
                    : Number(o["events-max-age-days"]) * 24 * 3600 * 1000,
        },
        // an operator's command waits for the disk; the service's own
        // records do not (see SqliteOptions)
        { syncEveryCommit: !service }
    )
    return { store, artifacts, unlock }
}

const log = serviceLog()

async function serve() {
    const releaseKey = releasePublicKey()
    const tlsFiles = [o["tls-cert"], o["tls-key"]]
    if (tlsFiles.filter(Boolean).length === 1)
        throw new RangeError("TLS needs both --tls-cert and --tls-key")
    // a world-readable key is refused before anything is opened
    const tlsKey = o["tls-key"] ? readPrivateKeyFile(o["tls-key"]) : undefined
    const { store, artifacts, unlock } = await openState({
        lock: true,
        service: true,
    })
    keepServing(log)
    const svc = await startFleetService({
        store,
        artifacts,
        releaseKey,
        port: intOption("port") ?? 0,
        listen: o.listen,
        publicHost: o.host,
        tls: o["tls-cert"]
            ? {
                  cert: readFileSync(o["tls-cert"]),
                  key: tlsKey!,
              }
            : undefined,
        holdMs: intOption("hold-ms"),
        idleTimeoutMs: intOption("idle-timeout-ms"),
        maxDeploys: intOption("max-deploys"),
        limits: {
            maxTotal: intOption("max-pending"),
            maxPerAddress: intOption("max-pending-per-address"),
            handshakeTimeoutMs: intOption("handshake-timeout-ms"),
        },
        reportSource: o["platform-admin"]
            ? platformReports(o["platform-admin"])
            : undefined,
        controlSocket: controlSocketPath(o.state!),
        instance: o.instance,
        log,
    })
    // before the line that says it is up: a signal that follows that line
    // must find the handler (until then it would kill the process outright)
    exitOnSignal(async () => {
        await svc.close()
        await store.close()
        unlock()
    })
    console.log(
        `fleet service on ${svc.tls ? "wss" : "ws"}://${o.listen}:${svc.port}${DEVICE_PATH}<device>, ` +
            `state in ${o.state}, release key ${keyFingerprint(releaseKey)}`
    )
}

/** What a state command works on. */
type State = Awaited<ReturnType<typeof openState>>

/** `add-device ID`: registers (or updates) a device; prints its connection string. */
async function addDevice({ store }: State) {
    const id = args[1]
    if (!id || !DEVICE_ID.test(id))
        throw new RangeError("add-device ID ([A-Za-z0-9._-], at most 64)")
    for (const g of o.group ?? []) checkOperatorName(g, "--group", 64)
    if (o.platform !== undefined) checkOperatorName(o.platform, "--platform")
    const old = await store.device(id)
    const d: DeviceRecord = {
        id,
        key: old?.key ?? newDeviceKey().toString("hex"),
        groups: o.group ?? old?.groups ?? [],
        platformId: o.platform ?? old?.platformId ?? "",
        createdAt: old?.createdAt ?? Date.now(),
    }
    await store.upsertDevice(d)
    console.log(
        o.port
            ? connStr(d, Number(o.port))
            : `${id} registered; connection string: fleet connstr ${id} --port N`
    )
}

/** `connstr ID --port N`: a registered device's connection string. */
async function connstr({ store }: State) {
    const d = await store.device(args[1])
    if (!d || !o.port) throw new RangeError("connstr ID --port N")
    console.log(connStr(d, Number(o.port)))
}

/** `publish FILE.devs NAME`: checks, verifies the signature, stores a version. */
async function publish({ store, artifacts }: State) {
    const [, file, name] = args
    if (!file || !name)
        throw new RangeError(
            "publish FILE.devs NAME [--key PRIVATE | --sig FILE.sig]"
        )
    const releaseKey = releasePublicKey()
    const image = readFileSync(file)
    inspectImage(image)
    const sigFile = o.sig ?? `${file}.sig`
    const signature = o.key
        ? signRelease(image, loadPrivateKey(o.key))
        : existsSync(sigFile)
          ? readFileSync(sigFile, "utf8")
          : ""
    if (!signature)
        throw new RangeError(
            `${file} is not signed: give --key PRIVATE, or sign it first (fleet sign ${file} --key PRIVATE)`
        )
    verifyWithToolchain(file)
    const { info } = await publishVersion(store, artifacts, image, {
        name,
        signature,
        releaseKey,
        note: o.note,
    })
    console.log(
        `published ${name}: ${info.hash} (${info.size} bytes, format ${info.format}, signature checked)`
    )
}

/** `assign NAME SCOPE`: a new rollout. */
async function assignCommand({ store }: State) {
    const r = await assign(store, args[1], parseScope(args[2] ?? ""))
    console.log(`rollout ${r.id}: ${r.version} to ${scopeText(r.scope)}`)
}

/** `widen N%`: widens a percentage rollout. */
async function widenCommand({ store }: State) {
    const r = await widen(store, parseFloat(args[1]), rolloutId)
    console.log(`rollout ${r.id}: ${r.version} to ${scopeText(r.scope)}`)
}

/** `stop`: no more devices get the rollout. */
async function stopCommand({ store }: State) {
    const r = await stop(
        store,
        checkOperatorName(o.reason, "--reason", 1000),
        rolloutId
    )
    console.log(`rollout ${r.id} (${r.version}) stopped`)
}

/** `rollback`: a rollout, or one device, returns to the previous version. */
async function rollbackCommand({ store }: State) {
    const { rollout, to } = await rollback(store, {
        id: rolloutId,
        deviceId: o.device,
    })
    console.log(
        o.device
            ? `${o.device} returns to ${to} (rollout ${rollout.id})`
            : `rollout ${rollout.id} (${rollout.version}) rolled back`
    )
}

/** `status`: every device's row, then a bar per rollout that still counts. */
async function status({ store }: State) {
    const live = await queryControl(controlSocketPath(o.state!))
    const data = await readFleetData(store)
    console.table(
        fleetView(data).map(r => ({
            device: r.id,
            groups: r.groups.join(","),
            connected: r.connected,
            runs: r.current,
            assigned: r.desired,
            "last deploy": r.lastDeploy,
            health: r.health,
            "last error": r.lastError,
            handshakes: live
                ? handshakeFailureText(live.handshakeFailures?.[r.id])
                : "?",
        }))
    )
    if (!live)
        console.log(
            "(no service answers on this state directory: failed handshakes are kept in the service's memory only)"
        )
    printRolloutBars(data)
}

/** Each rollout that still counts as a bar: updated out of its target, failures as x. */
function printRolloutBars(data: FleetData) {
    for (const r of rolloutProgress(data))
        if (r.status !== "rolled-back" && r.target > 0)
            console.log(
                `rollout ${r.id} ${r.version} to ${r.scope} ${textBar(r.updated - r.broken, r.target, r.failed)} ` +
                    `${r.updated}/${r.target} updated${r.failed ? `, ${r.failed} failed` : ""}` +
                    `, ${r.status === "stopped" ? "stopped" : r.done ? "done" : "in progress"}`
            )
}

/** `versions`: the published versions. */
async function versions({ store }: State) {
    console.table(
        (await store.versions()).map(v => ({
            name: v.name,
            hash: v.hash.slice(0, 16),
            size: v.size,
            signed: v.signature ? "yes" : "NO",
            note: v.note,
        }))
    )
}

/** `rollouts`: every rollout, oldest first. */
async function rollouts({ store }: State) {
    console.table(
        (await store.rollouts()).map(r => ({
            id: r.id,
            version: r.version,
            scope: scopeText(r.scope),
            status: r.status,
            reason: r.reason,
        }))
    )
}

/** `log`: the last 50 events (device text terminal-safe). */
async function eventLog({ store }: State) {
    for (const e of await store.events(50))
        console.log(
            `${new Date(e.at).toISOString()} ${terminalSafe(`${e.deviceId} ${e.kind} ${e.detail}`)}`
        )
}

/** The commands that work on the state directory, by name. */
const STATE_COMMANDS: Record<string, (s: State) => Promise<void>> = {
    "add-device": addDevice,
    connstr,
    publish,
    assign: assignCommand,
    widen: widenCommand,
    stop: stopCommand,
    rollback: rollbackCommand,
    status,
    versions,
    rollouts,
    log: eventLog,
}

/** Runs state command `name` on the state directory, then closes it. */
async function stateCommand(name: string) {
    const state = await openState()
    try {
        await STATE_COMMANDS[name](state)
    } finally {
        await state.store.close()
    }
}

/** `enrol ID`: the device the dev tools see joins the fleet as ID. */
async function enrol() {
    const id = args[1]
    if (!id || !DEVICE_ID.test(id))
        throw new RangeError(
            "enrol ID [--port N | --url URL] [--timeout S] [--jacdac-port N] [--device-id HEX]"
        )
    if (o.url && o.port) throw new RangeError("give --port or --url, not both")
    const service = o.url
        ? parseServiceUrl(o.url)
        : o.port
          ? { host: o.host!, port: intOption("port")!, tls: o.wss! }
          : undefined
    const timeout = intOption("timeout")
    const t0 = Date.now()
    const r = await enrolDevice({
        id,
        stateDir: o.state!,
        db: o.db,
        service,
        jacdacPort: intOption("jacdac-port"),
        busDeviceId: o["device-id"],
        connectTimeoutMs: timeout === undefined ? undefined : timeout * 1000,
        log: l => console.log(l),
    })
    console.log(
        `${id}: connected to ${serviceText(r.plan.service)} ` +
            `(device ${r.busDeviceId}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`
    )
}

try {
    if (cmd === "serve") await serve()
    else if (cmd === "enrol") await enrol()
    else if (cmd === "keygen") {
        const { privateFile, publicFile } = writeReleaseKeys(
            o.out ?? defaultKeyDir()
        )
        console.log(
            `private key: ${privateFile} (mode 600: keep it off the service's machine if you can)\n` +
                `public key:  ${publicFile} (give it to serve and publish with --release-key, or leave it there)\n` +
                `fingerprint: ${keyFingerprint(loadPublicKey(publicFile))}`
        )
    } else if (cmd === "sign") {
        const file = args[1]
        if (!file || !o.key)
            throw new RangeError("sign FILE.devs --key PRIVATE")
        const image = readFileSync(file)
        inspectImage(image)
        writeFileSync(
            `${file}.sig`,
            signRelease(image, loadPrivateKey(o.key)) + "\n"
        )
        console.log(`signed: ${file}.sig`)
    } else if (Object.hasOwn(STATE_COMMANDS, cmd)) await stateCommand(cmd)
    else {
        // no command (or an unknown one): the help, on stderr
        console.error(helpText(FLEET_COMMAND))
        process.exitCode = cmd ? 2 : 0
    }
} catch (e) {
    console.error(`fleet: ${(e as Error).message}`)
    process.exitCode = 1
}
