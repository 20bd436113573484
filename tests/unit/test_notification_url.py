"""Notification URL checks: production pushes never go to internal addresses (SSRF)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kessai.core.merchants.notification_url import (
    check_notification_url,
    is_internal_address,
    resolve_host,
)
from kessai.kit.errors import InvalidRequest


def resolves_to(*addresses: str):
    return lambda host: list(addresses)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/n",
        "http://127.8.9.10:8080/n",
        "https://10.1.2.3/n",
        "https://172.16.0.1/n",
        "https://172.31.255.255/n",
        "https://192.168.1.1/n",
        "http://169.254.169.254/latest/meta-data",
        "http://0.0.0.0/n",
        "http://[::1]/n",
        "http://[fd00::1]/n",
        "http://[fe80::1]/n",
        "http://[::ffff:127.0.0.1]/n",
        "http://224.0.0.1/n",
        "http://240.0.0.1/n",
    ],
)
def test_production_refuses_internal_address_literals(url):
    with pytest.raises(InvalidRequest, match=r"internal address.*public host"):
        check_notification_url(url, mode="production", resolve=resolves_to("8.8.8.8"))


def test_production_refuses_a_name_that_resolves_inside():
    with pytest.raises(InvalidRequest, match=r"'shop\.example'.*10\.0\.0\.5"):
        check_notification_url(
            "https://shop.example/n",
            mode="production",
            resolve=resolves_to("93.184.216.34", "10.0.0.5"),
        )


def test_production_refuses_a_name_that_does_not_resolve():
    with pytest.raises(InvalidRequest, match="does not resolve"):
        check_notification_url(
            "https://nowhere.example/n", mode="production", resolve=resolves_to()
        )


def test_production_accepts_a_public_host():
    url = "https://shop.example/paygent/notice"
    assert check_notification_url(url, mode="production", resolve=resolves_to("93.184.216.34"))


def test_sandbox_accepts_internal_hosts_without_resolving():
    def no_dns(host: str) -> list[str]:
        raise AssertionError("sandbox URLs are not resolved")

    assert check_notification_url("http://localhost:9000/n", mode="sandbox", resolve=no_dns)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://shop.example/n",
        "file:///etc/passwd",
        "https:///n",
        "shop.example/n",
        "http://h:99999/",
    ],
)
def test_a_url_must_be_http_with_a_host_in_every_mode(url):
    for mode in ("sandbox", "production"):
        with pytest.raises(InvalidRequest, match="http:// or https:// with a host"):
            check_notification_url(url, mode=mode, resolve=resolves_to("93.184.216.34"))


def test_localhost_resolves_to_loopback_and_is_refused():
    assert resolve_host("localhost")
    with pytest.raises(InvalidRequest, match="internal address"):
        check_notification_url("http://localhost/n", mode="production")


@given(st.ip_addresses())
def test_global_addresses_are_never_called_internal(address):
    mapped = getattr(address, "ipv4_mapped", None)
    plain = mapped or address
    if plain.is_global and not (plain.is_multicast or plain.is_reserved):
        assert not is_internal_address(address)
    if plain.is_loopback or plain.is_link_local or plain.is_unspecified:
        assert is_internal_address(address)


def test_documentation_and_public_addresses_are_not_internal():
    for text in ("8.8.8.8", "203.0.113.10", "2001:4860:4860::8888"):
        assert not is_internal_address(ipaddress.ip_address(text))
