"""Tag archives served by the replica: content, determinism, sizes, special and hostile tags."""

from __future__ import annotations

import hashlib
import io
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from exofop_mcp.replica import Replica, ReplicaConfig, dataset

SPECIAL = dataset.SPECIAL_TAGS


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replica]:
    cache = tmp_path_factory.mktemp("replica-archives")
    with Replica(ReplicaConfig(cache_dir=str(cache), accounts={"alice": "s3cret"})) as replica:
        yield replica


@pytest.fixture
def http(site: Replica) -> Iterator[httpx.Client]:
    site.configure(tag_size=None, tag_sizes={}, chunked=False, unknown_tag_status=200)
    with httpx.Client(base_url=site.base_url, timeout=60) as client:
        yield client


def get_zip(client: httpx.Client, tag: int) -> httpx.Response:
    return client.get("/tess/download_tag_files_zip.php", params={"tag": str(tag)})


def open_zip(content: bytes) -> zipfile.ZipFile:
    assert content[:2] == b"PK"
    return zipfile.ZipFile(io.BytesIO(content))


def top_levels(names: list[str]) -> set[str]:
    return {name.split("/", 1)[0] for name in names}


def test_time_series_tag_zip_has_one_folder_and_realistic_files(http: httpx.Client) -> None:
    response = get_zip(http, 18493)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert int(response.headers["content-length"]) == len(response.content)
    archive = open_zip(response.content)
    assert archive.testzip() is None
    names = archive.namelist()
    assert top_levels(names) == {"TIC254113311.02_20200330_PEST_Rc"}
    table_name = "TIC254113311.02_20200330_PEST_Rc/TIC254113311-02_20200330_PEST0.3m_Rc_measurements.tbl"
    assert table_name in names
    header, *rows = archive.read(table_name).decode().splitlines()
    columns = header.split("\t")
    for column in ("BJD_TDB", "rel_flux_T1", "rel_flux_err_T1", "AIRMASS"):
        assert column in columns
    assert len(rows) == 184  # "Num Obs" of the real row
    flux = [float(row.split("\t")[columns.index("rel_flux_T1")]) for row in rows]
    assert min(flux) < 0.999 < max(flux)  # a transit dip below the out-of-transit level
    suffixes = {name.rsplit(".", 1)[-1] for name in names if not name.endswith("/")}
    assert suffixes == {"tbl", "csv", "png", "fits", "txt"}
    for name in names:
        if name.endswith(".png"):
            assert archive.read(name)[:8] == b"\x89PNG\r\n\x1a\n"
        if name.endswith(".fits"):
            data = archive.read(name)
            assert data.startswith(b"SIMPLE  =                    T") and len(data) % 2880 == 0
    assert 20_000 < len(response.content) < 400_000


def test_spectroscopy_and_imaging_tags(http: httpx.Client) -> None:
    data = Replica().dataset  # the shared, lazily loaded dataset
    spect_tag = int(data.observations(dataset.TOI_1130_TIC).spect[0][-2])
    imaging_tag = int(data.observations(dataset.TOI_1130_TIC).imaging[0][-2])
    spect = open_zip(get_zip(http, spect_tag).content).namelist()
    assert any(name.endswith("_spectrum.fits") for name in spect) and len(top_levels(spect)) == 1
    imaging = open_zip(get_zip(http, imaging_tag).content).namelist()
    assert any(name.endswith("_contrast.csv") for name in imaging) and len(top_levels(imaging)) == 1


def test_archives_are_deterministic_across_replicas(http: httpx.Client, tmp_path: Path) -> None:
    first = hashlib.sha256(get_zip(http, 19442).content).hexdigest()
    with Replica(ReplicaConfig(cache_dir=str(tmp_path))) as other, httpx.Client(base_url=other.base_url) as client:
        second = hashlib.sha256(get_zip(client, 19442).content).hexdigest()
        tar_a = client.get("/tess/download_tag_files.php", params={"tag": "19442"}).content
    assert first == second
    tar_b = http.get("/tess/download_tag_files.php", params={"tag": "19442"}).content
    assert tar_a == tar_b


def test_tar_holds_the_same_files(http: httpx.Client) -> None:
    response = http.get("/tess/download_tag_files.php", params={"tag": "18598"})
    assert response.headers["content-type"] == "application/x-tar"
    with tarfile.open(fileobj=io.BytesIO(response.content)) as archive:
        tar_files = {member.name for member in archive.getmembers() if member.isfile()}
    zip_files = {name for name in open_zip(get_zip(http, 18598).content).namelist() if not name.endswith("/")}
    assert tar_files == zip_files


def test_tag_size_makes_archives_about_that_size(site: Replica, http: httpx.Client) -> None:
    site.configure(tag_size=1_500_000)
    content = get_zip(http, 19121).content
    assert abs(len(content) - 1_500_000) < 3 * 2880
    assert open_zip(content).testzip() is None
    site.configure(tag_size=None, tag_sizes={19188: 700_000})
    assert abs(len(get_zip(http, 19188).content) - 700_000) < 3 * 2880
    assert len(get_zip(http, 19121).content) < 400_000


def test_chunked_mode_omits_content_length(site: Replica, http: httpx.Client) -> None:
    site.configure(chunked=True)
    response = get_zip(http, 18493)
    assert response.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.headers
    assert open_zip(response.content).testzip() is None


def test_unknown_missing_and_empty_tags(site: Replica, http: httpx.Client) -> None:
    unknown = get_zip(http, dataset.UNKNOWN_TAG)
    assert unknown.status_code == 200 and unknown.headers["content-type"].startswith("text/html")
    assert b"No tag found" in unknown.content
    assert get_zip(http, SPECIAL["missing_404"]).status_code == 404
    site.configure(unknown_tag_status=404)
    assert get_zip(http, dataset.UNKNOWN_TAG).status_code == 404
    empty = get_zip(http, SPECIAL["no_files"])
    assert empty.status_code == 200 and b"no files" in empty.content
    no_number = http.get("/tess/download_tag_files_zip.php", params={"tag": "abc"})
    assert no_number.status_code == 200 and no_number.content[:2] != b"PK"


def test_special_tags_appear_in_the_hostile_system_table(http: httpx.Client) -> None:
    text = http.get("/tess/download_tseries.php", params={"target": str(dataset.HOSTILE_SYSTEM_TIC), "output": "pipe"})
    tags = {line.split("|")[17] for line in text.text.splitlines()[1:]}
    assert set(dataset.HOSTILE_TAGS) <= {int(tag) for tag in tags}


def test_hostile_zips(http: httpx.Client) -> None:
    slip = open_zip(get_zip(http, SPECIAL["zip_slip"]).content).namelist()
    assert "../../evil.txt" in slip
    absolute = open_zip(get_zip(http, SPECIAL["absolute_path"]).content).namelist()
    assert any(name.startswith("/") for name in absolute)
    link_archive = open_zip(get_zip(http, SPECIAL["symlink"]).content)
    links = [info for info in link_archive.infolist() if stat.S_ISLNK(info.external_attr >> 16)]
    assert len(links) == 1 and link_archive.read(links[0]).startswith(b"../")
    many = open_zip(get_zip(http, SPECIAL["too_many_entries"]).content)
    assert len(many.infolist()) > 20_000
    two = open_zip(get_zip(http, SPECIAL["no_top_folder"]).content).namelist()
    assert len(top_levels(two)) == 2
    flat = open_zip(get_zip(http, SPECIAL["flat"]).content).namelist()
    assert all("/" not in name for name in flat) and len(flat) > 1


def test_zip_bomb_is_small_on_the_wire_and_huge_unpacked(http: httpx.Client) -> None:
    content = get_zip(http, SPECIAL["zip_bomb"]).content
    archive = open_zip(content)
    total = sum(info.file_size for info in archive.infolist())
    assert len(content) < 2 * 1024 * 1024
    assert total >= 1 << 30
    member = max(archive.infolist(), key=lambda info: info.file_size)
    with archive.open(member) as stream:
        assert stream.read(1 << 20) == b"\0" * (1 << 20)


def test_corrupt_tag_fails_its_checks(http: httpx.Client) -> None:
    archive = open_zip(get_zip(http, SPECIAL["corrupt"]).content)
    assert len(archive.namelist()) > 1  # the structure still reads
    with pytest.raises((zipfile.BadZipFile, zlib.error)):
        for name in archive.namelist():
            archive.read(name)
    tar = http.get("/tess/download_tag_files.php", params={"tag": str(SPECIAL["corrupt"])}).content
    with pytest.raises(tarfile.ReadError), tarfile.open(fileobj=io.BytesIO(tar)) as broken:
        broken.getmembers()


def test_get_file_serves_one_member(http: httpx.Client) -> None:
    rows = [
        line.split("|")
        for line in http.get("/tess/download_filelist.php", params={"id": "254113311"}).text.splitlines()[1:]
    ]
    row = next(row for row in rows if row[8] == "18493" and row[1].endswith(".tbl"))
    response = http.get("/tess/get_file.php", params={"id": row[2]})
    assert response.status_code == 200
    archive = open_zip(get_zip(http, 18493).content)
    member = next(name for name in archive.namelist() if name.endswith(row[1]))
    assert response.content == archive.read(member)
    assert http.get("/tess/get_file.php", params={"id": "1"}).content[:2] != b"PK"


def test_proprietary_tag_needs_a_login(site: Replica, http: httpx.Client) -> None:
    tag = dataset.PROPRIETARY_TAGS[0]
    anonymous = get_zip(http, tag)
    assert anonymous.status_code == 200 and anonymous.headers["content-type"].startswith("text/html")
    assert b'name="username"' in anonymous.content and b'name="password"' in anonymous.content
    login_page = http.get("/tess/login.php", params={"ref": "/tess/"})
    assert "PHPSESSID" in http.cookies
    assert b"password_check.php" in login_page.content
    form = {"username": "alice", "password": "wrong", "ref": "login_user", "ref_page": "/tess/"}
    failed = http.post("/tess/password_check.php", data=form, follow_redirects=True)
    assert failed.status_code == 200 and b"Invalid username or password" in failed.content
    assert get_zip(http, tag).content[:2] != b"PK"
    form["password"] = "s3cret"
    success = http.post("/tess/password_check.php", data=form)
    assert success.status_code == 302 and success.headers["location"] == "/tess/index.php"
    assert "expires=" in success.headers["set-cookie"].lower()
    assert b"alice" in http.get("/tess/index.php").content
    archive = open_zip(get_zip(http, tag).content)
    assert archive.testzip() is None
    records = [record for record in site.requests if record.path.endswith("download_tag_files_zip.php")]
    assert records[-1].user == "alice" and records[-1].session == http.cookies["PHPSESSID"]


def test_expired_login_is_anonymous(site: Replica, http: httpx.Client) -> None:
    site.configure(session_ttl=0.3)
    try:
        http.get("/tess/login.php")
        form = {"username": "alice", "password": "s3cret", "ref": "login_user", "ref_page": "/tess/"}
        assert http.post("/tess/password_check.php", data=form).status_code == 302
        assert get_zip(http, dataset.PROPRIETARY_TAGS[1]).content[:2] == b"PK"
        import time

        time.sleep(0.4)
        assert get_zip(http, dataset.PROPRIETARY_TAGS[1]).content[:2] != b"PK"
    finally:
        site.configure(session_ttl=7 * 86400)


def test_hand_written_zip_bomb_headers_are_consistent(http: httpx.Client) -> None:
    content = get_zip(http, SPECIAL["zip_bomb"]).content
    signature, *_ = struct.unpack("<I", content[:4])
    assert signature == 0x04034B50
    assert content[-22:-18] == b"PK\x05\x06"


@pytest.mark.slow  # every file of a star, zipped and tarred
def test_all_files_of_a_star(http: httpx.Client) -> None:
    response = http.get("/tess/download_files_zip.php", params={"id": str(dataset.TOI_1130_TIC)})
    archive = open_zip(response.content)
    assert archive.testzip() is None
    folders = top_levels(archive.namelist())
    assert len(folders) == len(Replica().dataset.tags_of(dataset.TOI_1130_TIC))
    assert "18493_TIC254113311.02_20200330_PEST_Rc" in folders
    with tarfile.open(
        fileobj=io.BytesIO(http.get("/tess/download_files.php", params={"id": "254113311"}).content)
    ) as tar:
        assert {member.name.split("/")[0] for member in tar.getmembers()} == folders
    empty = http.get("/tess/download_files_zip.php", params={"id": str(dataset.EMPTY_SYSTEM_TIC)})
    assert empty.status_code == 200 and empty.content[:2] != b"PK"


def test_head_request_gives_headers_only(http: httpx.Client) -> None:
    full = get_zip(http, 18493)
    head = http.head("/tess/download_tag_files_zip.php", params={"tag": "18493"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == full.headers["content-length"]
