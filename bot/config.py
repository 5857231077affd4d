"""Settings from the environment or .env (the contract in shared/DESIGN.md, listed in .env.example)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

    database_url: str | None = None
    telegram_bot_token: SecretStr | None = None
    telegram_api_base: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_rate_per_second: float = 30.0  # the bot's whole send ceiling, shared by its processes
    shishi_processes: int = 1  # processes sharing the database (deploy/): each sends at its share of the ceiling
    telegram_user_rate: float = 1.0  # updates per second per Telegram user, sustained; more gets one polite notice
    telegram_user_burst: int = 20
    telegram_poll_timeout: int = 25  # seconds a getUpdates long poll may wait
    wechat_token: SecretStr | None = None  # the Token of the server configuration (服务器配置)
    wechat_app_id: str | None = None
    wechat_app_secret: SecretStr | None = None
    wechat_encoding_aes_key: SecretStr | None = None  # 43 characters; set: safe mode (compatible mode accepted)
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_passive_budget: float = 4.0  # seconds a turn may take and still answer in the HTTP response
    wechat_timestamp_window: int = 300  # seconds a push's signed timestamp may be off
    wechat_max_body: int = 64 * 1024  # bytes of one push; a WeChat message is a few hundred
    wechat_notices_file: Path | None = None  # subscription notification templates; default demo/wechat.toml
    wechat_menu_file: Path | None = None  # the custom menu; default demo/wechat_menu.toml
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    shishi_data_dir: Path = Path("./data")
    shishi_secret_key: SecretStr | None = None
    # Secrets still accepted to open what they sealed, comma-separated, while `python -m bot keys rotate` moves
    # everything to SHISHI_SECRET_KEY (see the README, "Rotating the key").
    shishi_old_secret_keys: SecretStr | None = None
    shishi_demo: str = Field(default="auto", description="auto | yes | no: load demo units on an empty database")
    shishi_emergency_words: Path | None = None  # TOML word lists per language; empty: demo/emergency.toml
    timezone: str = "Asia/Shanghai"
    default_locale: str = "zh_CN"
    ticket_prefix: str = "HZ"
    max_tickets_per_day: int = 5
    webchat_allowed_origins: str = ""  # comma-separated extra origins allowed to open the web chat socket
    webchat_frame_ancestors: str = "'self'"  # who may embed the page in a frame (CSP frame-ancestors)
    webchat_session_rate: float = 1.0  # messages per second per session, sustained
    webchat_session_burst: int = 20
    webchat_address_rate: float = 5.0  # messages per second per client address, sustained
    webchat_address_burst: int = 40
    webchat_max_body: int = 512 * 1024  # 100 000 characters must reach the step to be refused politely
    webchat_max_upload: int = 10 * 1024 * 1024  # one photo or voice note, bytes
    webchat_max_uploads: int = 30  # files one web chat session may upload in all (disk is not a free-for-all)
    webchat_address_uploads: int = 60  # files one client address may upload a day, whatever its sessions
    webchat_address_upload_bytes: int = 200 * 1024 * 1024  # and bytes a day
    webchat_upload_total_bytes: int = 2 * 1024**3  # bytes of uploads no ticket holds yet, everyone's together
    request_deadline: float = 5.0  # seconds a web chat message or webhook update waits for the database, then 503
    webchat_trusted_proxies: str = ""  # comma-separated proxy addresses/networks whose X-Forwarded-For is believed
    sender_interval: float = 0.5
    office_hours: str = "08:30-12:00,14:00-17:30"  # working periods of a working day, local time
    deadlines_file: Path | None = None  # the deadline policy; default demo/deadlines.toml
    holidays_file: Path | None = None  # days off for years chinesecalendar does not know; default demo/holidays.toml
    followup_interval: float = 30.0  # seconds between follow-up ticks
    digest_at: str = "08:00"  # the morning digest, local time, on working days
    # Citizens' quiet hours (local time): no broadcast, no follow-up that is not urgent. One window for both.
    citizen_quiet_hours: str = Field(
        default="21:00-08:00", validation_alias=AliasChoices("citizen_quiet_hours", "broadcast_quiet_hours")
    )
    broadcast_daily_cap: int = 2  # broadcasts per citizen per local day; more wait for the next morning
    broadcast_batch_size: int = 500  # recipients per fan-out transaction
    broadcast_progress_every: float = 10.0  # seconds between edits of the author's progress message
    broadcast_interval: float = 2.0  # seconds between broadcast ticks
    # Reaching citizens after they leave the chat (issue #14). Web push: the VAPID subject (a mailto: or https: the push
    # services may write to) and the key file (default SHISHI_DATA_DIR/vapid_private.pem, made on the first start).
    webpush_subject: str = "mailto:desk@localhost"
    webpush_key_file: Path | None = None
    # SMS: the provider ("tencent" for Tencent Cloud SMS; empty: no SMS), caps per ticket and per person and local day.
    sms_provider: str = ""
    sms_per_ticket_day: int = 2
    sms_per_person_day: int = 4
    tencent_sms_secret_id: SecretStr | None = None
    tencent_sms_secret_key: SecretStr | None = None
    tencent_sms_sdk_app_id: str | None = None  # SmsSdkAppId, 1400…
    tencent_sms_sign_name: str | None = None  # the approved signature (签名), e.g. 汉中政法
    tencent_sms_template_notice: str | None = None  # "您的工单{1}{2}…": ticket number, short status
    tencent_sms_template_code: str | None = None  # "验证码{1}，{2}分钟内有效": the one-time code confirming a phone
    tencent_sms_region: str = "ap-guangzhou"
    tencent_sms_endpoint: str = "https://sms.tencentcloudapi.com"
    shishi_public_url: str | None = None  # how people reach the desk, for links sent in chat; default http://HOST:PORT
    clusters_file: Path | None = None  # cluster thresholds (未诉先办); default demo/clusters.toml
    # Whom citizens ask about their personal data (named in /privacy): an office, a phone, an address (#16)
    shishi_privacy_contact: str | None = None
    retention_file: Path | None = None  # retention terms per ticket kind (#16); default demo/retention.toml
    retention_at: str = "03:30"  # local time of the daily retention job
    log_level: str = "INFO"

    @property
    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.shishi_data_dir / 'shishi.db').resolve()}"

    @property
    def embedded(self) -> bool:
        return not self.database_url or self.database_url.startswith("sqlite")
