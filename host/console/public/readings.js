// The readings view: per device, one live chart per field (uPlot), with a
// gap where `seq` jumps, and markers for dropped readings, version reports
// and authentications.
import uPlot from "./uplot.esm.js"
import { h } from "./dom.js"

/** Readings kept per device in the page. */
const KEEP = 300
/** @type {Record<string, {points: any[], markers: any[]}>} */
const devices = {}
/** @type {Map<string, any>} chart per `device field` */
const charts = new Map()
let error = ""
/** @type {Record<string, string>} platform identity → fleet id */
let fleetIds = {}

/** Takes the whole state (`readings-init`). @param {any} s */
export function initReadings(s) {
    for (const k of Object.keys(devices)) delete devices[k]
    Object.assign(devices, structuredClone(s.devices ?? {}))
    error = s.off
        ? "not connected to an emulator: start the console with --platform-admin URL"
        : s.error
}

/** Adds what a poll brought (`readings`). @param {any} u */
export function addReadings(u) {
    error = u.error
    for (const p of u.points) {
        const d = (devices[p.device] ??= { points: [], markers: [] })
        d.points.push(p)
        if (d.points.length > KEEP) d.points.splice(0, d.points.length - KEEP)
    }
    for (const m of u.markers) {
        const d = (devices[m.device] ??= { points: [], markers: [] })
        d.markers.push(m)
        if (d.markers.length > KEEP)
            d.markers.splice(0, d.markers.length - KEEP)
    }
}

/** Names fleet devices by their platform identity. @param {any} snap */
export function setFleet(snap) {
    fleetIds = Object.fromEntries(
        snap.devices.filter(d => d.platformId).map(d => [d.platformId, d.id])
    )
}

/**
 * The chart data of one field: x in seconds, a null where seq jumps
 * forward by more than one (readings that never arrived), so the line
 * breaks there.
 * @param {any[]} points sorted by time @param {string} field
 */
export function seriesOf(points, field) {
    const xs = []
    const ys = []
    let prev
    for (const p of points) {
        if (!(field in p.values)) continue
        if (
            prev &&
            p.seq !== undefined &&
            prev.seq !== undefined &&
            p.seq > prev.seq + 1
        ) {
            xs.push((prev.t + p.t) / 2000)
            ys.push(null)
        }
        xs.push(p.t / 1000)
        ys.push(p.values[field])
        prev = p
    }
    return [xs, ys]
}

/** Markers of a device: its own, and where its `dropped` count rose. @param {{points: any[], markers: any[]}} d */
function markersOf(d) {
    const out = d.markers.map(m => ({ t: m.t, kind: m.kind, label: m.label }))
    let last = 0
    for (const p of d.points)
        if (p.dropped !== undefined && p.dropped > last) {
            out.push({ t: p.t, kind: "dropped", label: `dropped ${p.dropped}` })
            last = p.dropped
        }
    return out
}

const COLORS = {
    version: "#1f5fbf",
    auth: "#888",
    "auth-failed": "#c25e00",
    dropped: "#c25e00",
}

/** uPlot plugin: a vertical line and a label per marker. @param {() => any[]} get */
function markerPlugin(get) {
    return {
        hooks: {
            draw: [
                /** @param {any} u */ u => {
                    const ctx = u.ctx
                    const [x0, x1] = [u.scales.x.min, u.scales.x.max]
                    ctx.save()
                    ctx.font = `${11 * devicePixelRatio}px sans-serif`
                    let row = 0
                    for (const m of get()) {
                        const t = m.t / 1000
                        if (t < x0 || t > x1) continue
                        const x = Math.round(u.valToPos(t, "x", true))
                        ctx.strokeStyle = ctx.fillStyle =
                            COLORS[m.kind] ?? "#444"
                        ctx.setLineDash(m.kind === "auth" ? [3, 3] : [])
                        ctx.beginPath()
                        ctx.moveTo(x, u.bbox.top)
                        ctx.lineTo(x, u.bbox.top + u.bbox.height)
                        ctx.stroke()
                        ctx.fillText(
                            m.label,
                            x + 3,
                            u.bbox.top +
                                (10 + 12 * (row++ % 3)) * devicePixelRatio
                        )
                    }
                    ctx.restore()
                },
            ],
        },
    }
}

/**
 * The x range (seconds) for readings at times `xs`: their span, stretched
 * to show the markers just before them (a version report precedes the
 * first reading after a boot); a single instant is shown as a minute.
 * @param {number[]} xs sorted @param {any[]} markers
 * @returns {[number, number]}
 */
export function xRange(xs, markers) {
    let min = xs[0] ?? Date.now() / 1000
    let max = xs[xs.length - 1] ?? min
    for (const m of markers ?? []) {
        const t = m.t / 1000
        if (t >= min - 10 && t < min) min = t
        if (t > max) max = t
    }
    if (!(max - min > 0.001)) return [min - 30, min + 30]
    const pad = (max - min) * 0.03
    return [min - pad, max + pad]
}

/** Draws (or updates) every chart into `root`. @param {HTMLElement} root */
export function renderReadings(root) {
    const status = /** @type {HTMLElement} */ (
        document.getElementById("readings-status")
    )
    const names = Object.keys(devices).sort()
    status.textContent =
        error ||
        (names.length
            ? `${names.length} device(s); last ${KEEP} readings each`
            : "no readings yet")
    for (const name of names) {
        const d = devices[name]
        d.points.sort((a, b) => a.t - b.t)
        let card = /** @type {HTMLElement|null} */ (
            root.querySelector(
                `.device-card[data-device="${CSS.escape(name)}"]`
            )
        )
        if (!card) {
            card = h(
                "div",
                { class: "device-card", "data-device": name },
                h(
                    "h3",
                    {},
                    fleetIds[name] ? `${fleetIds[name]} (${name})` : name
                ),
                h("div", { class: "legend" }),
                h("div", { class: "charts" })
            )
            root.append(card)
        }
        const markers = markersOf(d)
        const legend = /** @type {HTMLElement} */ (
            card.querySelector(".legend")
        )
        const latest = markers.filter(m => m.kind === "version").pop()
        legend.replaceChildren(
            `${d.points.length} readings`,
            latest
                ? h(
                      "span",
                      { class: "mk-version" },
                      ` · version ${latest.label}`
                  )
                : "",
            h(
                "span",
                { class: "mk-auth" },
                ` · ${markers.filter(m => m.kind === "auth").length} auth`
            ),
            h(
                "span",
                { class: "mk-dropped" },
                ` · ${d.points.at(-1)?.dropped ?? 0} dropped`
            )
        )
        const fields = [
            ...new Set(d.points.flatMap(p => Object.keys(p.values))),
        ].sort()
        for (const f of fields) {
            const key = `${name} ${f}`
            const data = seriesOf(d.points, f)
            let c = charts.get(key)
            if (!c) {
                const box = h("div", {
                    class: "chart",
                    "data-device": name,
                    "data-field": f,
                })
                card.querySelector(".charts")?.append(box)
                c = new uPlot(
                    {
                        width: 520,
                        height: 200,
                        title: f,
                        scales: {
                            x: {
                                time: true,
                                range: u => xRange(u.data[0], c.markers),
                            },
                        },
                        series: [
                            {},
                            {
                                label: f,
                                stroke: "#2f8f4e",
                                width: 2,
                                spanGaps: false,
                                points: { show: true, size: 4 },
                            },
                        ],
                        plugins: [markerPlugin(() => c.markers)],
                    },
                    data,
                    box
                )
                c.box = box
                charts.set(key, c)
            }
            c.markers = markers
            c.setData(data)
            c.box.dataset.points = String(
                data[1].filter(v => v !== null).length
            )
            c.box.dataset.gaps = String(data[1].filter(v => v === null).length)
            c.box.dataset.markers = String(markers.length)
        }
    }
}
