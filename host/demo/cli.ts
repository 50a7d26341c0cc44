/**
 * `npm run fleet-demo -- [--devices N] [--state DIR] [--platform-port P]
 *     [--fleet-port P] [--period S] [--check-in S] [--rollout-after S]
 *     [--widen-after S] [--no-rollout]`
 *
 * A fleet to watch in the console without hardware or the DeviceScript
 * simulator: the platform emulator (HTTPS on P, default 8443, admin API on
 * P+1), the fleet OTA service (default port 7071) and N (default 8)
 * protocol-level devices (host/demo/sim-member.ts) that check in with
 * the service every S seconds (default 5) and report readings to the
 * emulator every S seconds (default 2). Versions v1.0.0 and v2.0.0 (two
 * small test programs) are published, signed with a release key made for
 * the demo (`DIR/release-key.pub`), and v1.0.0 is assigned to all. Then,
 * unless `--no-rollout`, v2.0.0 goes to 25% of the fleet after 20 s and to
 * all of it 40 s later. State in DIR (default `state/demo`), wiped at start
 * (a non-empty directory the demo did not make is refused).
 * Prints the `npm run console` command that shows it all. Ctrl-C ends it.
 */
import { randomBytes, createPublicKey, createPrivateKey } from "node:crypto"
import {
    existsSync,
    mkdirSync,
    readdirSync,
    rmSync,
    writeFileSync,
} from "node:fs"
import { join } from "node:path"
import { buildFirmware } from "../lib/build.ts"
import { readCommandLine } from "../lib/args.ts"
import {
    ArtifactStore,
    assign,
    controlSocketPath,
    generateReleaseKeys,
    newDeviceKey,
    padImage,
    parseScope,
    prepareStateDir,
    publishVersion,
    signRelease,
    openFleetStore,
    startFleetService,
    widen,
} from "../fleet/index.ts"
import { startPlatform } from "../platform/index.ts"
import { simMembers } from "./sim-member.ts"
import { exitOnSignal } from "../lib/exit-on-signal.ts"
import { DEMO_COMMAND } from "./command.ts"

const PRODUCT_KEY = "a1DemoFleet"
/** The file that marks a directory as the demo's own. */
const MARKER = ".fleet-demo"

function seconds(name: string, v: string | undefined, dflt: number) {
    const n = v === undefined ? dflt : Number(v)
    if (!(n >= 0)) throw new RangeError(`--${name}: seconds, not ${v}`)
    return n * 1000
}

const log = (l: string) =>
    console.log(`${new Date().toISOString().slice(11, 19)} ${l}`)

let stopping = false

/** Runs `fn` every `ms` (first after `delay`) until the demo stops. */
function every(ms: number, delay: number, fn: () => Promise<void>) {
    const run = async () => {
        if (stopping) return
        try {
            await fn()
        } catch (e) {
            if (!stopping) log(`(${(e as Error).message})`)
        }
        if (!stopping) setTimeout(run, ms)
    }
    setTimeout(run, delay)
}

async function main() {
    const { values: o } = readCommandLine(DEMO_COMMAND, "fleet-demo")
    const n = Number(o.devices)
    if (!Number.isInteger(n) || n < 1 || n > 200)
        throw new RangeError("--devices: 1..200")
    process.umask(0o077)
    // wipe only a directory the demo made (never a real fleet's state)
    const marker = join(o.state, MARKER)
    if (
        existsSync(o.state) &&
        readdirSync(o.state).length &&
        !existsSync(marker)
    )
        throw new RangeError(
            `${o.state} is not empty and not a demo's: give the demo a directory of its own (--state DIR)`
        )
    rmSync(o.state, { recursive: true, force: true })
    mkdirSync(o.state, { recursive: true, mode: 0o700 })
    writeFileSync(
        marker,
        "made by npm run fleet-demo; wiped at its next start\n"
    )
    const fleetDir = join(o.state, "fleet")
    prepareStateDir(fleetDir)

    log("building the two demo programs (v1.0.0, v2.0.0)…")
    const v1 = padImage(await buildFirmware("test/fixtures/fleet-app-v1.ts"))
    const v2 = padImage(await buildFirmware("test/fixtures/fleet-app-v2.ts"))
    const keys = generateReleaseKeys()
    const releaseKey = createPublicKey(keys.publicPem)
    const keyFile = join(o.state, "release-key.pub")
    writeFileSync(keyFile, keys.publicPem)

    const ids = Array.from(
        { length: n },
        (_, i) => `demo-${String(i + 1).padStart(2, "0")}`
    )
    const secrets = new Map(
        ids.map(id => [id, randomBytes(16).toString("hex")])
    )
    const platform = await startPlatform({
        port: Number(o["platform-port"]),
        adminPort: Number(o["platform-port"])
            ? Number(o["platform-port"]) + 1
            : 0,
        devices: ids.map(id => `${PRODUCT_KEY}/${id}/${secrets.get(id)}`),
    })
    const store = await openFleetStore(join(fleetDir, "fleet.db"))
    const artifacts = new ArtifactStore(join(fleetDir, "artifacts"))
    for (const [i, id] of ids.entries())
        await store.upsertDevice({
            id,
            key: newDeviceKey().toString("hex"),
            groups: [i % 2 ? "field" : "lab"],
            platformId: `${PRODUCT_KEY}/${id}`,
            createdAt: Date.now(),
        })
    const privateKey = createPrivateKey(keys.privatePem)
    for (const [name, image, note] of [
        ["v1.0.0", v1, "what the fleet runs today"],
        ["v2.0.0", v2, "the new version"],
    ] as const)
        await publishVersion(store, artifacts, image, {
            name,
            note,
            signature: signRelease(image, privateKey),
            releaseKey,
        })
    await assign(store, "v1.0.0", parseScope("all"))
    const versionNames = new Map(
        (await store.versions()).map(v => [v.hash, v.name])
    )
    const svc = await startFleetService({
        store,
        artifacts,
        releaseKey,
        port: Number(o["fleet-port"]),
        holdMs: 200,
        controlSocket: controlSocketPath(fleetDir),
        log: l =>
            /deploy|crash|stopp/.test(l) ? log(`service: ${l}`) : undefined,
    })
    const members = await simMembers({
        ids,
        service: svc,
        program: v1,
        target: { port: platform.port, ca: platform.ca },
        productKey: PRODUCT_KEY,
        secretOf: id => secrets.get(id)!,
        versionOf: h => versionNames.get(h),
    })
    const period = seconds("period", o.period, 2)
    const checkIn = seconds("check-in", o["check-in"], 5)
    members.forEach((m, i) => {
        // staggered, as real devices are
        every(checkIn, (checkIn * i) / n, async () => {
            const before = m.version()
            await m.checkIn()
            if (m.version() !== before)
                log(`${m.o.id}: ${before} → ${m.version()}`)
        })
        every(period, (period * i) / n, () => m.report())
    })
    exitOnSignal(async () => {
        stopping = true
        // whatever a device was doing, the demo is gone within 5 s
        setTimeout(() => process.exit(0), 5000).unref()
        await svc.close()
        await platform.close()
        await store.close()
    })
    console.log(
        `fleet demo: ${n} devices, emulator ${platform.url} (admin ${platform.adminUrl}), ` +
            `fleet service ws://127.0.0.1:${svc.port}, state in ${o.state}\n` +
            `watch it (another terminal):\n` +
            `    npm run console -- --state ${fleetDir} --platform-admin ${platform.adminUrl} --release-key ${keyFile}`
    )
    if (!o["no-rollout"]) {
        const after = seconds("rollout-after", o["rollout-after"], 20)
        const widenAfter = seconds("widen-after", o["widen-after"], 40)
        setTimeout(async () => {
            const r = await assign(store, "v2.0.0", parseScope("25%"))
            log(`rollout ${r.id}: v2.0.0 to 25% (a canary)`)
            setTimeout(async () => {
                const w = await widen(store, 100, r.id)
                log(`rollout ${w.id}: v2.0.0 widened to 100%`)
            }, widenAfter)
        }, after)
    }
}

main().catch(e => {
    console.error(`fleet-demo: ${(e as Error).message}`)
    process.exit(1)
})
