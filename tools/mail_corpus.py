#!/usr/bin/env python3
"""Build the mail test corpus (fixtures/mail/*.eml): real-world shaped messages, written with
Python's email package the way common mail clients encode Japanese. Run once; output committed.

    python3 tools/mail_corpus.py
"""
import base64, pathlib
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr

out = pathlib.Path("fixtures/mail")
out.mkdir(parents=True, exist_ok=True)

def write(name, msg):
    data = msg.as_bytes() if hasattr(msg, "as_bytes") else msg
    (out / name).write_bytes(data)

# 1. ISO-2022-JP (the classic Japanese mail encoding), with a log attached.
m = MIMEMultipart()
m["From"] = formataddr((str(Header("山田 太郎", "iso-2022-jp")), "yamada@example.co.jp"))
m["To"] = "crack@todokede.example"
m["Subject"] = Header("【至急】不正アクセスの報告", "iso-2022-jp")
m["Message-ID"] = "<iso2022jp-1@example.co.jp>"
m["Date"] = "Wed, 25 Nov 2026 10:00:00 +0900"
m.attach(MIMEText("お世話になっております。\n弊社サーバへの不正アクセスを検知しました。\n攻撃元は 45.33.32.156 で、phpMyAdmin からデータベースが削除され、0.03 BTC を要求する脅迫文が残されていました。\n", "plain", "iso-2022-jp"))
log = MIMEApplication(b"Nov 25 09:58:01 web sshd[123]: Failed password for root from 45.33.32.156 port 51234 ssh2\n", "octet-stream")
log.add_header("Content-Disposition", "attachment", filename="auth.log")
m.attach(log)
write("iso2022jp_with_log.eml", m)

# 2. Shift_JIS, base64 body, RFC 2047 subject.
m = MIMEText("ウイルス対策ソフトが Emotet を検知しました。\n添付ファイル付きのメールを開いた社員のパソコンです。\n", "plain", "shift_jis")
m["From"] = "soumu@example.jp"
m["To"] = "virus@todokede.example"
m["Subject"] = Header("ウイルス届出", "shift_jis")
m["Message-ID"] = "<sjis-1@example.jp>"
write("shift_jis.eml", m)

# 3. Quoted-printable UTF-8.
m = MIMEText("ECサイトでリスト型攻撃を受けました。約250,000件のログイン試行があり、約800件で不正ログインが成功しています。\n", "plain", "utf-8")
m.replace_header("Content-Transfer-Encoding", "quoted-printable") if False else None
del m["Content-Transfer-Encoding"]
import quopri
payload = "ECサイトでリスト型攻撃を受けました。約250,000件のログイン試行があり、約800件で不正ログインが成功しています。\n".encode()
m.set_payload(quopri.encodestring(payload).decode())
m["Content-Transfer-Encoding"] = "quoted-printable"
m["From"] = "shop-admin@example.com"
m["To"] = "crack@todokede.example"
m["Subject"] = Header("不正ログインの届出", "utf-8")
m["Message-ID"] = "<qp-1@example.com>"
write("utf8_quoted_printable.eml", m)

# 4. HTML only, with script and an event handler that must never run or survive as markup.
m = MIMEText("<html><body><p>Our <b>web site</b> was defaced.</p><script>alert('x')</script><img src=x onerror=alert(1)><p>The attacker left a webshell: shell.php</p></body></html>", "html", "utf-8")
m["From"] = "webmaster@example.org"
m["To"] = "crack@todokede.example"
m["Subject"] = "Website defaced"
m["Message-ID"] = "<html-1@example.org>"
write("html_only.eml", m)

# 5. A forwarded phishing mail (message/rfc822).
inner = MIMEText("ウェブメールのパスワードの有効期限が切れます。hxxps://webmail-login[.]example-phish[.]top/ からログインしてください。\n", "plain", "utf-8")
inner["From"] = "helpdesk@example-phish.top"
inner["Subject"] = Header("パスワード有効期限のお知らせ", "utf-8")
inner["Message-ID"] = "<phish-orig@example-phish.top>"
m = MIMEMultipart()
m["From"] = "it@example.ac.jp"
m["To"] = "crack@todokede.example"
m["Subject"] = Header("Fwd: フィッシングメールの転送", "utf-8")
m["Message-ID"] = "<fwd-1@example.ac.jp>"
m.attach(MIMEText("学内に届いたフィッシングメールを転送します。数名がパスワードを入力してしまいました。\n", "plain", "utf-8"))
m.attach(MIMEMessage(inner))
write("forwarded_phishing.eml", m)

# 6. No Message-ID at all.
m = MIMEText("NAS のファイルが削除され、身代金を要求するファイルが置かれていました。\n", "plain", "utf-8")
m["From"] = "kojin@example.ne.jp"
m["To"] = "crack@todokede.example"
m["Subject"] = Header("NAS の被害", "utf-8")
write("no_message_id.eml", m)

# 7. Truncated MIME: the closing boundary and half the attachment are missing.
m = MIMEMultipart()
m["From"] = "broken@example.jp"
m["To"] = "crack@todokede.example"
m["Subject"] = "truncated"
m["Message-ID"] = "<truncated-1@example.jp>"
m.attach(MIMEText("途中で切れたメールです。サーバが踏み台にされました。\n", "plain", "utf-8"))
m.attach(MIMEApplication(bytes(range(256)) * 40, "octet-stream", Name="dump.bin"))
raw = m.as_bytes()
write("truncated_mime.eml", raw[: int(len(raw) * 0.6)])

# 8. The IPA plain-text form with ■ checkboxes, in the body.
form = """コンピュータ不正アクセス届出様式
届出種別: □ウイルス届出 ■不正アクセス届出
1. 届出者
  届出者種別: □個人 ■企業 □教育機関
  氏名: 佐藤 花子
  企業・組織名: 株式会社サンプル
  E-Mail: sato@example.co.jp
  TEL: 03-1234-5678
  住所: 東京都
2. 発見年月日: 2026年11月20日
3. 被害を受けた機器等: □パソコン ■サーバ（データベースサーバ）
4. 設置環境: ■クラウド環境に設置 □不明
5. 被害の有無: ■被害あり □被害なし(未遂・発見のみ)
6. 被害内容: ■データ消去・脅迫
7. 被害原因: ■設定不備(アクセス制限の不備)
8. その他: MySQL の 3306 番ポートがインターネットから接続可能でした。
"""
m = MIMEText(form, "plain", "iso-2022-jp")
m["From"] = "sato@example.co.jp"
m["To"] = "crack@todokede.example"
m["Subject"] = Header("不正アクセス届出", "iso-2022-jp")
m["Message-ID"] = "<form-1@example.co.jp>"
write("ipa_form.eml", m)

# 9. An auto-responder: stored, never answered.
m = MIMEText("I am out of the office until Monday.\n", "plain", "utf-8")
m["From"] = "someone@example.com"
m["To"] = "crack@todokede.example"
m["Subject"] = "Out of office"
m["Auto-Submitted"] = "auto-replied"
m["Message-ID"] = "<ooo-1@example.com>"
write("auto_reply.eml", m)

# 10. Header injection attempts in values that could be copied into outgoing mail.
raw = (b"From: attacker@example.com\r\n"
       b"Reply-To: =?utf-8?b?" + base64.b64encode(b"victim@example.com\r\nBcc: everyone@example.com") + b"?=\r\n"
       b"To: crack@todokede.example\r\n"
       b"Subject: =?utf-8?b?" + base64.b64encode("注入\r\nBcc: all@example.com".encode()) + b"?=\r\n"
       b"Message-ID: <inject-1@example.com>\r\n"
       b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
       b"header injection test\r\n")
write("header_injection.eml", raw)
print("written", len(list(out.glob("*.eml"))), "messages")
