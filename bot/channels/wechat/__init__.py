"""The WeChat Official Account (公众号): signed and encrypted pushes in, passive answers or the customer-service API
out, subscription notifications once the window has closed."""

from bot.channels.wechat.channel import WeChatChannel

__all__ = ["WeChatChannel"]
