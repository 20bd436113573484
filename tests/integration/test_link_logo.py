"""The hosted page's logo, set by the operator (`kessai merchant logo`) or by the merchant's
administrators in the console (CSRF-checked, audited); raster images only."""

from __future__ import annotations

import json
import uuid

import httpx

from kessai.core.console.permissions import Permission, Role
from kessai.core.link import logo
from tests.integration.test_cli import kessai
from tests.integration.test_link_page import PNG
from tests.support.console import make_user, signed_in

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def admin_client(runtime, server, merchant, role=Role.ADMIN):
    user = make_user(
        runtime,
        merchant.merchant_id,
        f"logo{uuid.uuid4().hex[:8]}",
        role=role,
        permissions=frozenset({Permission.VIEW, Permission.USERS}),
    )
    return signed_in(server, user)


def upload(client, data: bytes, name: str = "logo.png", csrf: bool = True) -> httpx.Response:
    fields = {"csrf_token": client.csrf} if csrf else {}
    return client.http.post(
        "/console/settings/logo", data=fields, files={"logo": (name, data, "image/png")}
    )


class TestConsole:
    def test_admin_uploads_and_removes_the_logo(self, runtime, server, merchant):
        client = admin_client(runtime, server, merchant)
        page = client.get("/console/settings/logo")
        assert page.status_code == 200 and 'id="no-logo"' in page.text
        done = upload(client, PNG)
        assert done.status_code == 200 and 'id="current-logo"' in done.text
        stored = logo.get_logo(runtime.core, merchant.merchant_id)
        assert stored is not None and stored.data == PNG
        client._remember(done)
        removed = client.post("/console/settings/logo/remove")
        assert removed.status_code == 200 and 'id="no-logo"' in removed.text
        assert logo.get_logo(runtime.core, merchant.merchant_id) is None
        audit = client.get("/console/audit")
        assert "logo_upload" in audit.text and "logo_remove" in audit.text

    def test_an_svg_is_refused_whatever_its_name(self, runtime, server, merchant):
        client = admin_client(runtime, server, merchant)
        client.get("/console/settings/logo")
        refused = upload(client, SVG, name="logo.png")
        assert refused.status_code == 400 and 'id="error"' in refused.text
        assert logo.get_logo(runtime.core, merchant.merchant_id) is None

    def test_too_large_is_refused(self, runtime, server, merchant):
        client = admin_client(runtime, server, merchant)
        client.get("/console/settings/logo")
        refused = upload(client, PNG + b"\x00" * logo.MAX_BYTES)
        assert refused.status_code == 400 and "256KB" in refused.text

    def test_upload_without_csrf_token_is_refused(self, runtime, server, merchant):
        client = admin_client(runtime, server, merchant)
        client.get("/console/settings/logo")
        refused = upload(client, PNG, csrf=False)
        assert refused.status_code == 403
        assert logo.get_logo(runtime.core, merchant.merchant_id) is None

    def test_a_general_user_may_not_set_the_logo(self, runtime, server, merchant):
        client = admin_client(runtime, server, merchant, role=Role.GENERAL)
        assert client.get("/console/settings/logo").status_code == 403
        assert upload(client, PNG).status_code == 403
        assert logo.get_logo(runtime.core, merchant.merchant_id) is None


def test_operator_sets_and_removes_the_logo_from_the_cli(tmp_path):
    home = tmp_path / "home"
    kessai(home, "migrate")
    created = json.loads(kessai(home, "merchant", "create", "--json").stdout)
    mid = str(created["merchant_id"])
    image = tmp_path / "logo.png"
    image.write_bytes(PNG)
    assert "image/png" in kessai(home, "merchant", "logo", mid, str(image)).stdout
    svg = tmp_path / "evil.png"
    svg.write_bytes(SVG)
    refused = kessai(home, "merchant", "logo", mid, str(svg), check=False)
    assert refused.returncode != 0 and "SVG" in refused.stderr
    assert "removed" in kessai(home, "merchant", "logo", mid, "--remove").stdout
