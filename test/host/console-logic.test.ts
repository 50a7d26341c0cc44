// The console's pure parts without a browser: reading bodies, the access
// rules (no cookie), rollout progress, the actions (the CLI's functions and words),
// signature states.
import { test } from "node:test"
import assert from "node:assert/strict"
import type { IncomingMessage } from "node:http"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { buildFirmware } from "../../host/lib/build.ts"
import { ArtifactStore, padImage } from "../../host/fleet/release/artifacts.ts"
import { rolloutProgress } from "../../host/fleet/rollout/progress.ts"
import { desiredForAll } from "../../host/fleet/rollout/desired-all.ts"
import { readFleetData, stateIn } from "../../host/fleet/rollout/fleet-data.ts"
import { desiredFor, percentMembers } from "../../host/fleet/rollout/desired.ts"
import { SqliteStore } from "../../host/fleet/store/sqlite.ts"
import { refusal, tokenMatches } from "../../host/console/access.ts"
import { isLoopbackHost } from "../../host/lib/http-request.ts"
import { ActionError, runAction } from "../../host/console/actions.ts"
import {
    parseReading,
    parseVersionReport,
} from "../../host/console/reading-body.ts"
import { ReadingsFeed } from "../../host/console/readings.ts"
import { SignatureChecker } from "../../host/console/signatures.ts"
import { startPlatform } from "../../host/platform/index.ts"
import { authenticate, publish } from "../../host/testkit/platform-client.ts"
import { publishSigned, releaseKeys, testReleaseKeys } from "./fleet-helpers.ts"

test("readings: the firmware's plain and Alink bodies, device time when given, no reading from anything else", () => {
    assert.deepEqual(
        parseReading(
            '{"ts":1700000000000,"seq":7,"temperature":21.5,"humidity":40,"dropped":2}',
            5
        ),
        {
            t: 1700000000000,
            seq: 7,
            dropped: 2,
            values: { temperature: 21.5, humidity: 40 },
        }
    )
    assert.deepEqual(parseReading('{"seq":1,"temperature":20}', 99), {
        t: 99,
        seq: 1,
        dropped: undefined,
        values: { temperature: 20 },
    })
    assert.deepEqual(
        parseReading(
            '{"id":"12","version":"1.0","params":{"temperature":{"value":22,"time":1700000000001},"humidity":{"value":41,"time":1700000000001}},"method":"thing.event.property.post"}',
            5
        ),
        {
            t: 1700000000001,
            seq: 12,
            dropped: undefined,
            values: { temperature: 22, humidity: 41 },
        }
    )
    assert.equal(parseReading('{"id":"3","params":{"t":21}}', 5)?.seq, 3)
    for (const bad of [
        undefined,
        "",
        "not json",
        "[1,2]",
        '{"seq":1}',
        '{"name":"x"}',
    ])
        assert.equal(parseReading(bad, 5), undefined, String(bad))
    assert.equal(
        parseVersionReport('{"id":"1","params":{"version":"v2.0.0"}}'),
        "v2.0.0"
    )
    assert.equal(parseVersionReport('{"params":{}}'), undefined)
    assert.equal(parseVersionReport("x"), undefined)
})

test("access: the token by query on the page load only, by header for every other read and every action, never by cookie; assets are public; loopback Host only", () => {
    const token = "ab".repeat(24)
    const o = { token, port: 7080, loopback: true }
    const req = (
        method: string,
        url: string,
        headers: Record<string, string> = {}
    ) =>
        ({
            method,
            url,
            headers: { host: "127.0.0.1:7080", ...headers },
        }) as unknown as IncomingMessage
    const header = { "x-console-token": token }
    // a cookie that a browser would send to any port of 127.0.0.1 counts for nothing
    const cookie = `other=1; devs_console_7080=${token}`
    assert.equal(refusal(req("GET", `/?token=${token}`), o), undefined)
    assert.equal(refusal(req("GET", "/", header), o), undefined)
    assert.equal(refusal(req("GET", "/api/fleet", header), o), undefined)
    assert.equal(refusal(req("GET", "/events", header), o), undefined)
    assert.equal(refusal(req("GET", "/api/fleet", { cookie }), o)?.status, 401)
    assert.equal(refusal(req("GET", "/", { cookie }), o)?.status, 401)
    assert.equal(
        refusal(req("GET", `/api/fleet?token=${token}`), o)?.status,
        401,
        "the query token opens the page only"
    )
    assert.equal(refusal(req("GET", `/events?token=${token}`), o)?.status, 401)
    assert.equal(refusal(req("GET", "/api/fleet"), o)?.status, 401)
    assert.equal(refusal(req("GET", "/static/app.js"), o), undefined)
    assert.equal(
        refusal(req("GET", "/static/app.js", { host: "evil.example:7080" }), o)
            ?.status,
        403
    )
    assert.equal(
        refusal(req("GET", `/?token=${token.slice(1)}`), o)?.status,
        401
    )
    assert.equal(
        refusal(req("GET", "/", { "x-console-token": token.slice(1) }), o)
            ?.status,
        401
    )
    assert.equal(refusal(req("POST", "/api/stop", { cookie }), o)?.status, 403)
    assert.equal(
        refusal(req("POST", `/api/stop?token=${token}`), o)?.status,
        403
    )
    assert.equal(refusal(req("POST", "/api/stop", header), o), undefined)
    assert.equal(
        refusal(
            req("POST", "/api/stop", {
                "x-console-token": token,
                origin: "http://evil.example",
            }),
            o
        )?.status,
        403
    )
    assert.equal(
        refusal(req("PUT", "/api/stop", { "x-console-token": token }), o)
            ?.status,
        405
    )
    assert.equal(
        refusal(
            req("GET", `/?token=${token}`, { host: "evil.example:7080" }),
            o
        )?.status,
        403
    )
    assert.ok(isLoopbackHost("localhost:7080", 7080))
    assert.ok(isLoopbackHost("[::1]:7080", 7080))
    assert.ok(!isLoopbackHost("127.0.0.1:7081", 7080))
    assert.ok(!isLoopbackHost(undefined, 7080))
    assert.ok(tokenMatches(token, token))
    assert.ok(!tokenMatches(undefined, token))
})

/** A store with devices a..f on v1, versions v1 and v2 (fake hashes). */
async function fleet() {
    const store = new SqliteStore(":memory:")
    const h = (c: string) => c.repeat(64)
    for (const [name, hash] of [
        ["v1", h("1")],
        ["v2", h("2")],
    ])
        await store.addVersion({
            name,
            hash,
            size: 1,
            note: "",
            publishedAt: 0,
            signature: "",
        })
    const ids = ["a", "b", "c", "d", "e", "f"]
    for (const id of ids) {
        await store.upsertDevice({
            id,
            key: "00".repeat(32),
            groups: id < "d" ? ["lab"] : [],
            platformId: "",
            createdAt: 0,
        })
        await store.updateState(id, { currentHash: h("1") })
    }
    return { store, h, ids }
}

test("rollout progress: target, updated, failed (deploy failed, or crashed on the version) and devices a newer rollout took over", async () => {
    const { store, h, ids } = await fleet()
    await runAction(store, "assign", { version: "v1", scope: "all" })
    await runAction(store, "assign", { version: "v2", scope: "50%" })
    const canary = [...percentMembers("v2", 50, ids)]
    let [p1, p2] = rolloutProgress(await readFleetData(store))
    assert.deepEqual(
        [p1.target, p1.updated, p1.superseded, p1.done],
        [3, 3, 3, true],
        "the canary's devices count for rollout 2 only"
    )
    assert.deepEqual(
        [p2.target, p2.updated, p2.failed, p2.done, p2.percent],
        [3, 0, 0, false, 50]
    )
    await store.updateState(canary[0], { currentHash: h("2") })
    await store.updateState(canary[1], {
        currentHash: h("2"),
        health: "crashed",
    })
    await store.updateState(canary[2], {
        lastDeployHash: h("2"),
        lastDeployResult: "refused",
    })
    ;[, p2] = rolloutProgress(await readFleetData(store))
    assert.deepEqual([p2.updated, p2.failed, p2.broken], [2, 2, 1])
    // stopped: only devices that run v2 stay with it
    await runAction(store, "stop", {})
    ;[p1, p2] = rolloutProgress(await readFleetData(store))
    assert.equal(p2.status, "stopped")
    assert.deepEqual([p2.target, p2.updated], [3, 2])
    // a device rollout of v1 takes one over
    await runAction(store, "assign", {
        version: "v1",
        scope: `device:${canary[0]}`,
    })
    ;[, p2] = rolloutProgress(await readFleetData(store))
    assert.equal(p2.superseded, 1)
    await store.close()
})

test("actions: the CLI's functions and words; bad input is refused before anything changes", async () => {
    const { store } = await fleet()
    assert.equal(
        await runAction(store, "assign", { version: "v1", scope: "all" }),
        "rollout 1: v1 to all"
    )
    assert.equal(
        await runAction(store, "assign", { version: "v2", scope: "25%" }),
        "rollout 2: v2 to 25%"
    )
    assert.equal(
        await runAction(store, "widen", { percent: "60%" }),
        "rollout 2: v2 to 60%"
    )
    assert.equal(
        await runAction(store, "stop", { rollout: 2, reason: "battery" }),
        "rollout 2 (v2) stopped"
    )
    assert.equal((await store.rollouts())[1].reason, "battery")
    assert.equal(
        await runAction(store, "rollback", { rollout: 2 }),
        "rollout 2 (v2) rolled back"
    )
    await runAction(store, "assign", { version: "v2", scope: "group:lab" })
    assert.equal(
        await runAction(store, "rollback", { device: "a" }),
        "a returns to v1 (rollout 4)"
    )
    const n = (await store.rollouts()).length
    await assert.rejects(
        () => runAction(store, "assign", { version: "v9", scope: "all" }),
        /no published version v9/
    )
    await assert.rejects(
        () => runAction(store, "assign", { version: "v1", scope: "everyone" }),
        RangeError
    )
    await assert.rejects(
        () => runAction(store, "assign", { version: 1, scope: "all" }),
        ActionError
    )
    await assert.rejects(
        () => runAction(store, "widen", { percent: "lots" }),
        ActionError
    )
    await assert.rejects(
        () => runAction(store, "stop", { rollout: -1 }),
        ActionError
    )
    await assert.rejects(
        () => runAction(store, "stop", { rollout: 99 }),
        /no rollout 99/
    )
    assert.equal((await store.rollouts()).length, n)
    await store.close()
})

test("signature states: verified against the release key, bad with another key, signed without one, unsigned", async () => {
    const dir = mkdtempSync(join(tmpdir(), "console-logic-"))
    try {
        const store = new SqliteStore(":memory:")
        const artifacts = new ArtifactStore(join(dir, "artifacts"))
        const v = await publishSigned(
            store,
            artifacts,
            "v1",
            padImage(await buildFirmware("test/fixtures/fleet-app-v1.ts"))
        )
        assert.equal(
            new SignatureChecker(artifacts, releaseKeys.publicKey).state(v),
            "verified"
        )
        assert.equal(
            new SignatureChecker(artifacts, testReleaseKeys().publicKey).state(
                v
            ),
            "bad"
        )
        assert.equal(new SignatureChecker(artifacts).state(v), "signed")
        assert.equal(
            new SignatureChecker(artifacts, releaseKeys.publicKey).state({
                ...v,
                signature: "",
            }),
            "unsigned"
        )
        await store.close()
    } finally {
        rmSync(dir, { recursive: true, force: true })
    }
})

test("readings feed: points and markers from the emulator's admin API, no token kept, and a reset emulator read from its first record again", async () => {
    const dir = mkdtempSync(join(tmpdir(), "console-feed-"))
    const d = {
        productKey: "a1FeedTest1",
        deviceName: "dev",
        deviceSecret: "feedSecret0123456789abcdef012345",
    }
    const p = await startPlatform({
        stateDir: join(dir, "platform"),
        devices: [`${d.productKey}/${d.deviceName}/${d.deviceSecret}`],
    })
    try {
        const t = { port: p.port, ca: p.ca }
        const feed = new ReadingsFeed(p.adminUrl!, 2)
        const token = await authenticate(t, d)
        const topic = `/${d.productKey}/${d.deviceName}/user/update`
        await publish(
            t,
            `/ota/device/inform/${d.productKey}/${d.deviceName}`,
            token,
            '{"id":"1","params":{"version":"v7"}}'
        )
        for (const seq of [1, 2, 3])
            await publish(
                t,
                topic,
                token,
                JSON.stringify({ seq, temperature: 20 + seq })
            )
        const u = await feed.poll()
        assert.deepEqual(
            u.points.map(x => x.seq),
            [1, 2, 3]
        )
        assert.deepEqual(u.markers.map(m => m.label).sort(), ["auth", "v7"])
        const kept = feed.state().devices[`${d.productKey}/${d.deviceName}`]
        assert.deepEqual(
            kept.points.map(x => x.seq),
            [2, 3],
            "only the last 2 kept"
        )
        assert.equal(
            JSON.stringify(feed.state()).includes(token),
            false,
            "no token kept"
        )
        assert.deepEqual((await feed.poll()).points, [], "nothing new")
        p.reset({ tokens: true })
        const again = await authenticate(t, d)
        await publish(
            t,
            topic,
            again,
            JSON.stringify({ seq: 1, temperature: 30 })
        )
        assert.deepEqual(
            (await feed.poll()).points.map(x => x.values.temperature),
            [30]
        )
    } finally {
        await p.close()
        rmSync(dir, { recursive: true, force: true })
    }
})

test("desiredForAll gives desiredFor's answers for every device, on 200 random fleets", async () => {
    // mulberry32: a small PRNG whose low bits are as random as its high ones
    let seed = 12345
    const rnd = (n: number) => {
        seed = (seed + 0x6d2b79f5) | 0
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
        return ((t ^ (t >>> 14)) >>> 0) % n
    }
    for (let round = 0; round < 200; round++) {
        const store = new SqliteStore(":memory:")
        const versions = ["v1", "v2", "v3"].slice(0, 1 + rnd(3))
        versions.forEach((name, i) =>
            store.addVersion({
                name,
                hash: String(i + 1).repeat(64),
                size: 1,
                note: "",
                publishedAt: i,
                signature: "",
            })
        )
        const ids = Array.from({ length: 1 + rnd(25) }, (_, i) => `d${i}`)
        for (const id of ids) {
            await store.upsertDevice({
                id,
                key: "00",
                groups: rnd(2) ? ["lab"] : ["field"],
                platformId: "",
                createdAt: 0,
            })
            const k = rnd(versions.length + 1)
            if (k)
                await store.updateState(id, {
                    currentHash: String(k).repeat(64),
                })
        }
        for (let r = rnd(6); r > 0; r--) {
            const scope = [
                { kind: "all" as const },
                { kind: "percent" as const, value: 1 + rnd(100) },
                { kind: "group" as const, value: rnd(2) ? "lab" : "field" },
                { kind: "device" as const, value: ids[rnd(ids.length)] },
            ][rnd(4)]
            const status = (
                ["active", "active", "stopped", "rolled-back"] as const
            )[rnd(4)]
            await store.addRollout({
                version: versions[rnd(versions.length)],
                scope,
                status,
                createdAt: 0,
                updatedAt: 0,
                reason: "",
            })
        }
        const data = await readFleetData(store)
        const all = desiredForAll(data)
        for (const id of ids)
            assert.deepEqual(
                all.get(id),
                desiredFor(data, id, stateIn(data, id).currentHash),
                `round ${round}, ${id}`
            )
        await store.close()
    }
})
