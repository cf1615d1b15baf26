"""Chapter 10: a notification system (알림 시스템), one small module per idea, in flow order.

Vocabulary
    :mod:`.model`       channels, categories, statuses, requests, jobs, crash points, presets

Building blocks it uses from :mod:`reference.blocks` (shared with chapters 11 and 12)
    :mod:`~reference.blocks.ratelimit`      per-user sliding-window limit (전송률 제한)
    :mod:`~reference.blocks.delayed_queue`  held until a due time: quiet hours, retry queue
    :mod:`~reference.blocks.idempotency`    idempotency keys: one effect per (event, channel,
                                            address) (중복 전송 방지)
    :mod:`~reference.blocks.lossy_queue`    a broker that acknowledges messages and loses them

Intake (the Notification API)
    :mod:`.auth`        app key + secret, HMAC-signed requests, replay window (인증)
    :mod:`.validation`  a request checked completely before anything is written (요청 검증)
    :mod:`.contacts`    device tokens, phone numbers, emails (연락처 정보)
    :mod:`.templates`   named, versioned message formats (알림 템플릿)
    :mod:`.settings`    opt-ins per channel and category, quiet hours (알림 설정)
    :mod:`.api`         the API and the signed client

Delivery
    :mod:`.providers`   simulated APNs, FCM, SMS and email providers that fail realistically
    :mod:`.retry`       backoff with jitter, provider fallback, dead letters, alerts (재시도)
    :mod:`.worker`      one channel's worker (작업 서버): dedupe, send, retry, ack, in order
    :mod:`.pump`        the retry pump and dead-letter replay, back onto the channel queues
    :mod:`.delivery`    every channel's worker pool and the pump, wired and stepped together
    :mod:`.tracking`    the notification log and engagement funnel (이벤트 추적)
    :mod:`.records`     every job kept, a lost one sent again (데이터 손실 방지)
    :mod:`.monitoring`  queue depth and age, when to add workers (큐 모니터링)

The whole
    :mod:`.system`      :class:`NotificationSystem`: every part wired on one store and clock
    :mod:`.scenario`    seeded fault scenarios through the whole pipeline (장애 시나리오)
    :mod:`.checker`     named anomalies over a recorded history (불변식 검사기)

Examples
--------
>>> from reference.notification import ScenarioConfig, check, run_scenario
>>> check(run_scenario(ScenarioConfig.stormy().scaled(users=6, events=12), seed=11)).ok
True
"""

from reference.core.faults import CrashPlan
from reference.notification.api import NotificationAPI, Receipt
from reference.notification.checker import ANOMALY_KINDS, Anomaly, CheckReport, check
from reference.notification.client import NotificationClient
from reference.notification.delivery import DeliveryService
from reference.notification.model import (
    Category,
    Channel,
    CrashPoint,
    Job,
    NotificationRequest,
    Status,
    StatusChange,
)
from reference.notification.providers import FailureModel, SimulatedProvider
from reference.notification.records import NotificationRecords
from reference.notification.scenario import (
    Outage,
    ScenarioConfig,
    ScenarioResult,
    build_system,
    run_scenario,
)
from reference.notification.settings import Preferences, QuietHours
from reference.notification.system import NotIdle, NotificationSystem, SystemStatistics
from reference.notification.tracking import NotificationLog

__all__ = [
    "ANOMALY_KINDS",
    "Anomaly",
    "Category",
    "Channel",
    "CheckReport",
    "CrashPlan",
    "CrashPoint",
    "DeliveryService",
    "FailureModel",
    "Job",
    "NotIdle",
    "NotificationAPI",
    "NotificationClient",
    "NotificationLog",
    "NotificationRecords",
    "NotificationRequest",
    "NotificationSystem",
    "Outage",
    "Preferences",
    "QuietHours",
    "Receipt",
    "ScenarioConfig",
    "ScenarioResult",
    "SimulatedProvider",
    "Status",
    "StatusChange",
    "SystemStatistics",
    "build_system",
    "check",
    "run_scenario",
]
