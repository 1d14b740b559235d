import { describe, expect, it } from "vitest"

import { byJobSet, routeKey, routesOf, shareSeries } from "./api"

describe("the optional routes a server serves", () => {
  it("are read from its OpenAPI document, whatever its path parameters are called", () => {
    const routes = routesOf({
      paths: { "/v1/job/{job_id}/scheduler-report": { get: {} }, "/v1/binoculars/log": { post: {} } },
    })
    expect(routes.has(routeKey("GET", "/v1/job/{jobId}/scheduler-report"))).toBe(true)
    expect(routes.has(routeKey("post", "/v1/binoculars/log"))).toBe(true)
    expect(routes.has(routeKey("GET", "/v1/binoculars/log"))).toBe(false)
  })
})

describe("actions", () => {
  it("are sent one job set at a time", () => {
    const calls = byJobSet([
      { jobId: "1", queue: "q", jobSet: "s" },
      { jobId: "2", queue: "q", jobSet: "t" },
      { jobId: "3", queue: "q", jobSet: "s" },
    ])
    expect(calls).toEqual([
      { queue: "q", jobSetId: "s", jobIds: ["1", "3"] },
      { queue: "q", jobSetId: "t", jobIds: ["2"] },
    ])
  })
})

describe("fair-share series", () => {
  it("put each pool's rounds in time order, one value per queue, as percentages", () => {
    const point = (queue: string, pool: string, cycle: number, time: string, actualShare: number) => ({
      queue,
      pool,
      cycle,
      time,
      actualShare,
      fairShare: 0,
      adjustedFairShare: 0,
      demand: 0,
      queuedJobs: 0,
      runningJobs: 0,
    })
    const series = shareSeries(
      [
        point("a", "gpu", 2, "2026-12-03T10:00:02Z", 0.5),
        point("a", "cpu", 1, "2026-12-03T10:00:01Z", 0.25),
        point("b", "cpu", 1, "2026-12-03T10:00:01Z", 0.125),
        point("a", "cpu", 3, "2026-12-03T10:00:03Z", 0.3333),
      ],
      "actualShare",
    )
    expect([...series.keys()]).toEqual(["cpu", "gpu"])
    expect(series.get("cpu")).toEqual([
      { time: Date.parse("2026-12-03T10:00:01Z"), values: { a: 25, b: 12.5 } },
      { time: Date.parse("2026-12-03T10:00:03Z"), values: { a: 33.3 } },
    ])
  })
})
