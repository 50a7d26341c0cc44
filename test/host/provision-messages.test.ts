/**
 * Provisioning never echoes a value from a fleet file in a message (a
 * canary value stands in for a secret in every field), JSON errors name
 * only line and column, a CSV needs its header row, and `join` writes under
 * state/ by default (which git ignores, like a stray *.bin at the top).
 */
import { test } from "node:test"
import assert from "node:assert/strict"
import { execFile, execFileSync } from "node:child_process"
import {
    mkdtempSync,
    mkdirSync,
    readFileSync,
    rmSync,
    statSync,
    writeFileSync,
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseFleet, formatErrors } from "../../host/provision/fleet-file.ts"
import { boardArch } from "../../host/provision/boards.ts"

const root = join(import.meta.dirname, "../..")
const CANARY = "Zq9CanaryS3cr3t"
const never = (text: string) => {
    assert.ok(!text.includes(CANARY), `a value was echoed:\n${text}`)
    assert.ok(!text.includes("Zq9Can"), `part of a value was echoed:\n${text}`)
}

test("CSV: no reason quotes the value it is about", () => {
    const cols = [
        "productKey",
        "deviceName",
        "deviceSecret",
        "WIFI_SSID",
        "WIFI_PWD",
        "CLIENT_ID",
        "SIGN_METHOD",
        "HOST",
        "PORT",
        "PERIOD_MS",
        "FORMAT",
        "BUFFER_SIZE",
        "SENSOR",
        "FLEET_OTA",
    ]
    const rows = [
        // every value wrong and holding the canary
        [
            `pk ${CANARY}`,
            `dn/${CANARY}`,
            `${CANARY}\u0001`,
            `${CANARY}`.repeat(3),
            `${CANARY}`.repeat(5),
            `${CANARY}`.repeat(5),
            CANARY,
            `${CANARY}_!`,
            CANARY,
            CANARY,
            CANARY,
            CANARY,
            CANARY,
            CANARY,
        ],
        // duplicates of one device named with the canary
        [
            "pk",
            `dup${CANARY}`,
            "secretsecret",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        [
            "pk",
            `dup${CANARY}`,
            "secretsecret",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        // a '#' (dropped by the .env path) and a value over 232 bytes
        ["pk", "d3", `${CANARY}#x`, "", "", "", "", "", "", "", "", "", "", ""],
    ]
    const csv = [cols, ...rows].map(r => r.join(",")).join("\n") + "\n"
    const r = parseFleet(csv, "fleet.csv")
    const text = formatErrors(r.errors)
    never(text)
    for (const re of [
        /line 2: PERIOD_MS is not a whole number in 1000\.\.86400000/,
        /line 2: PORT is not a whole number/,
        /line 2: BUFFER_SIZE is not a whole number/,
        /line 2: SIGN_METHOD is not hmacsha1, hmacmd5 or hmacsha256/,
        /line 2: FORMAT is not json or alink/,
        /line 2: HOST is not a host name/,
        /line 2: SENSOR is not SHTC3, SHT30, AHT20, BME680 or probe/,
        /line 2: FLEET_OTA is not 1 or 0/,
        /line 2: PRODUCT_KEY contains a character that is not allowed/,
        /line 2: DEVICE_NAME contains a character that is not allowed/,
        /line 2: DEVICE_SECRET contains a character that is not allowed/,
        /line 2: CLIENT_ID must have 1\.\.64 characters/,
        /line 2: WIFI_SSID is 45 bytes, more than 32/,
        /line 4: duplicate device: same productKey and deviceName as line 3/,
        /line 5: DEVICE_SECRET contains '#'/,
    ])
        assert.match(text, re)
})

test("CSV without its header row: refused as such, the first device's cells are not taken for column names", () => {
    const r = parseFleet(
        `pk1,dn1,${CANARY},60000\npk2,dn2,other,60000\n`,
        "fleet.csv"
    )
    assert.deepEqual(r.errors, [
        {
            line: 1,
            reason: "the first row must be a header naming productKey, deviceName and deviceSecret",
        },
    ])
    never(formatErrors(r.errors))
})

test("JSON: a syntax error names line and column only, never the text around it", () => {
    const text = `{\n  "devices": [\n    {"productKey": "pk", "deviceName": "d", "deviceSecret": ${CANARY}}\n  ]\n}\n`
    const r = parseFleet(text, "fleet.json")
    assert.equal(r.errors.length, 1)
    assert.equal(r.errors[0].line, 3)
    assert.match(
        r.errors[0].reason,
        /^not valid JSON: unexpected character at line 3, column 61$/
    )
    never(formatErrors(r.errors))
    // Node's own message would have quoted it
    assert.throws(() => JSON.parse(`[${CANARY}]`), new RegExp(CANARY))
    const values = parseFleet(
        JSON.stringify({
            devices: [
                {
                    productKey: "pk",
                    deviceName: "d",
                    deviceSecret: "s3cr3tsecret",
                    settings: {
                        PERIOD_MS: CANARY,
                        SENSOR: CANARY,
                        HOST: `${CANARY}!`,
                    },
                },
            ],
        }),
        "fleet.json"
    )
    assert.equal(values.errors.length, 3)
    never(formatErrors(values.errors))
})

/** Runs `npm run provision -- args` (through tsx) in `cwd`. */
function provision(args: string[], cwd: string) {
    return new Promise<{ code: number; out: string }>(resolve =>
        execFile(
            process.execPath,
            [
                "--import",
                import.meta.resolve("tsx"),
                join(root, "host/provision/cli.ts"),
                ...args,
            ],
            { cwd },
            (err, stdout, stderr) =>
                resolve({
                    code: err ? ((err as any).code ?? 1) : 0,
                    out: stdout + stderr,
                })
        )
    )
}

test("npm run provision -- check: the output names lines and keys, never a value", async () => {
    const dir = mkdtempSync(join(tmpdir(), "provision-msg-"))
    try {
        writeFileSync(
            join(dir, "fleet.csv"),
            `productKey,deviceName,deviceSecret,PERIOD_MS,SENSOR\npk,d1,${CANARY},${CANARY},${CANARY}\n`
        )
        const r = await provision(["check", "fleet.csv"], dir)
        assert.equal(r.code, 1, r.out)
        assert.match(r.out, /line 2: PERIOD_MS is not a whole number/)
        never(r.out)
        writeFileSync(
            join(dir, "fleet.json"),
            `[{"productKey": "pk", "deviceSecret": ${CANARY}}]`
        )
        const j = await provision(["check", "fleet.json"], dir)
        assert.equal(j.code, 1)
        assert.match(j.out, /line 1: not valid JSON: .* at line 1, column/)
        never(j.out)
    } finally {
        rmSync(dir, { recursive: true, force: true })
    }
})

test("npm run provision -- join writes under state/ by default (owner-only), --out still works", async () => {
    const dir = mkdtempSync(join(tmpdir(), "provision-join-"))
    try {
        const board = "esp32c3_devkit_shtc3"
        const arch = boardArch(board)
        const at = arch.fstorOffset - arch.binFlashOffset
        writeFileSync(
            join(dir, "base.bin"),
            Buffer.concat([
                Buffer.alloc(4096, 0x5a),
                Buffer.alloc(at - 4096, 0xff),
            ])
        )
        writeFileSync(
            join(dir, "pk__dev1.fstor.bin"),
            Buffer.alloc(arch.pages * arch.pageSize, 0x11)
        )
        const args = [
            "join",
            "--board",
            board,
            "--base",
            "base.bin",
            "--part",
            "pk__dev1.fstor.bin",
        ]
        const r = await provision(args, dir)
        assert.equal(r.code, 0, r.out)
        const out = join(dir, "state/provision", board, "pk__dev1.full.bin")
        assert.equal(statSync(out).size, at + arch.pages * arch.pageSize)
        assert.equal(statSync(out).mode & 0o777, 0o600)
        assert.match(
            r.out,
            /state\/provision\/esp32c3_devkit_shtc3\/pk__dev1\.full\.bin: \d+ bytes/
        )
        mkdirSync(join(dir, "elsewhere"))
        const o = await provision([...args, "--out", "elsewhere/full.bin"], dir)
        assert.equal(o.code, 0, o.out)
        assert.ok(
            readFileSync(join(dir, "elsewhere/full.bin")).equals(
                readFileSync(out)
            )
        )
    } finally {
        rmSync(dir, { recursive: true, force: true })
    }
})

test("git ignores state/ and a stray image at the top of the repository", () => {
    for (const path of [
        "device123-full.bin",
        "state/provision/x/pk__dn.full.bin",
        "state/fleet.csv",
    ])
        execFileSync("git", ["check-ignore", "-q", path], { cwd: root }) // throws when not ignored
    assert.throws(() =>
        execFileSync("git", ["check-ignore", "-q", "boards/x.bin"], {
            cwd: root,
        })
    )
})
