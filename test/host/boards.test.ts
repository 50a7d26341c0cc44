/**
 * Boards: every board definition is valid and declares what the firmware
 * needs, the firmware builds for every supported board (custom and
 * built-in) without network, the sensor choice logic (in the VM), and the
 * version fallback matches package.json.
 */
import { test } from "node:test"
import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import {
    devsRunTest,
    parseDevsSummary,
    projectRoot,
} from "../../host/lib/devs.ts"
import {
    BUILTIN_BOARDS,
    customBoards,
    supportedBoards,
} from "../../host/provision/boards.ts"
import { tryBuildFirmware } from "../../host/lib/build.ts"
import { flashArgs } from "../../host/provision/flash.ts"
import { FIRMWARE_KEYS, SENSOR_NAMES } from "../../host/provision/keys.ts"

const DRIVERS = ["SHTC3", "SHT30", "AHT20", "BME680"]

test("custom boards: an ESP32-C3 and an ESP32-S3, each with I2C pins and a known sensor", () => {
    const boards = customBoards()
    const archs = new Set(boards.map(b => b.archId))
    assert.ok(archs.has("esp32c3") && archs.has("esp32s3"), [...archs].join())
    for (const b of boards) {
        assert.ok(b.devName, `${b.id}: devName`)
        assert.ok(DRIVERS.includes(b.sensor!), `${b.id}: sensor ${b.sensor}`)
        assert.ok(
            b.i2c && b.i2c.pinSDA !== undefined && b.i2c.pinSCL !== undefined,
            `${b.id}: i2c pins`
        )
        assert.notEqual(b.i2c!.pinSDA, b.i2c!.pinSCL)
        // pin names must resolve in the board's pin table
        for (const pin of [b.i2c!.pinSDA, b.i2c!.pinSCL])
            if (typeof pin === "string")
                assert.ok(b.pins?.[pin] !== undefined, `${b.id}: pin ${pin}`)
    }
})

for (const board of supportedBoards())
    test(`the firmware builds for ${board}`, async () => {
        const r = await tryBuildFirmware({ board })
        assert.ok(r.ok, r.output)
        assert.ok(r.bytecode!.length > 10_000)
        assert.equal(r.bytecode!.subarray(0, 4).toString("latin1"), "DevS")
        // no board definition problem reported on the way
        assert.doesNotMatch(r.output, /board\.json\(\d+\)/)
    })

test("a board id that does not exist fails the build (the import selects the board)", async () => {
    const r = await tryBuildFirmware({ board: "no_such_board" })
    assert.equal(r.ok, false)
    assert.match(r.output, /@dsboard\/no_such_board/)
})

test("sensor choice (VM)", async () => {
    const r = await devsRunTest("test/fixtures/sensor-plan.ts")
    const s = parseDevsSummary(r.output)
    assert.ok(s, r.output)
    assert.equal(s!.error, 0, r.output)
    assert.equal(s!.pass, 5)
})

test("the firmware's version fallback equals package.json's version", () => {
    const pkg = JSON.parse(
        readFileSync(join(projectRoot, "package.json"), "utf8")
    )
    const src = readFileSync(join(projectRoot, "src/version.ts"), "utf8")
    const m = /PACKAGE_VERSION = "([^"]+)"/.exec(src)
    assert.equal(m?.[1], pkg.version)
})

test("the host's list of settings keys matches the firmware's", () => {
    const config = readFileSync(join(projectRoot, "src/config.ts"), "utf8")
    const block = /export const KEYS = \{([^}]*)\}/.exec(config)![1]
    const keys = [...block.matchAll(/"([A-Z_]+)"/g)].map(m => m[1])
    const sensors = readFileSync(join(projectRoot, "src/sensors.ts"), "utf8")
    const sensorKey = /export const SENSOR_KEY = "([A-Z_]+)"/.exec(sensors)![1]
    assert.deepEqual([...FIRMWARE_KEYS].sort(), [...keys, sensorKey].sort())
    for (const d of DRIVERS) assert.ok(SENSOR_NAMES.includes(d))
    assert.ok(sensors.includes(`["${DRIVERS[0]}"`))
})

test("npm run flash wraps devs flash esp32 --board, for supported boards only", () => {
    assert.deepEqual(
        flashArgs([
            "--board",
            "esp32s3_devkit_aht20",
            "--port",
            "/dev/ttyACM0",
        ]),
        [
            "flash",
            "esp32",
            "--board",
            "esp32s3_devkit_aht20",
            "--port",
            "/dev/ttyACM0",
        ]
    )
    assert.throws(() => flashArgs([]), /--board ID is required/)
    assert.throws(
        () => flashArgs(["--board", "pico_w"]),
        /unknown board 'pico_w'/
    )
})
