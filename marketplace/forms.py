"""The portal's forms: they parse and bound what a browser sends; the rules of the market
(prices, timers, balances) stay in :mod:`marketplace.services`, whose one-line errors the
views attach to these forms."""

from __future__ import annotations

import re

from django import forms
from django.core.files.uploadedfile import UploadedFile

from marketplace import limits, services
from marketplace.models import SETTLEMENT_MODES

HEX_ID = re.compile(r"^[0-9a-fA-F]{64}$")


def read_upload(upload: UploadedFile | None, limit: int, what: str) -> bytes | None:
    """The bytes of an uploaded file, refused with a clear message above ``limit``."""
    if upload is None:
        return None
    if upload.size is not None and upload.size > limit:
        raise forms.ValidationError(f"the {what} is {upload.size:,} bytes; the limit is {limit:,}")
    upload.seek(0)
    return upload.read()


class SignupForm(forms.Form):
    username = forms.CharField(max_length=80, widget=forms.TextInput(attrs={"autocomplete": "username",
                                                                             "autofocus": True}))
    password = forms.CharField(min_length=8, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                               help_text="at least 8 characters")
    operator = forms.BooleanField(required=False, label="I run a worker (operator account: prove jobs for pay)")


class TokenForm(forms.Form):
    label = forms.CharField(max_length=80, required=False, help_text="what the token is for, e.g. 'laptop worker'")


class FaucetForm(forms.Form):
    amount = forms.IntegerField(min_value=1)
    to_operator = forms.BooleanField(required=False, label="to my operator collateral")

    def __init__(self, *args, limit: int, operator: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["amount"] = forms.IntegerField(min_value=1, max_value=limit, initial=limit,
                                                   help_text=f"up to {limit:,} credits at a time")
        if not operator:
            del self.fields["to_operator"]


class JobForm(forms.Form):
    """A job: its program (an ELF, or one already uploaded), its inputs and its terms.
    Blank prices mean the marketplace's estimate from the dry run."""
    program = forms.FileField(required=False, label="Program (MIPS ELF)")
    image_id = forms.CharField(required=False, max_length=64, label="or a program already uploaded (image id)",
                               widget=forms.TextInput(attrs={"list": "known-programs", "placeholder": "64 hex digits",
                                                             "spellcheck": "false"}))
    public_input_text = forms.CharField(required=False, strip=False, label="Public input (text)",
                                        widget=forms.Textarea(attrs={"rows": 3}),
                                        help_text="UTF-8, lines end in \\n; upload a file for exact bytes")
    public_input_file = forms.FileField(required=False, label="or public input (file)")
    private_input_file = forms.FileField(required=False, label="Private input (file, optional)",
                                         help_text="encrypted at rest; only the worker that locks the job reads it")
    max_cycles = forms.IntegerField(min_value=1, initial=limits.DEFAULT_MAX_CYCLES)
    price_min = forms.IntegerField(required=False, min_value=1, label="Price min", help_text="blank: estimate")
    price_max = forms.IntegerField(required=False, min_value=1, label="Price max", help_text="blank: estimate")
    ramp_seconds = forms.IntegerField(min_value=0, initial=60, label="Ramp (s)")
    lock_timeout_seconds = forms.IntegerField(min_value=1, initial=600, label="Lock timeout (s)")
    deadline_seconds = forms.IntegerField(min_value=1, initial=3600, label="Deadline (s)")
    settlement = forms.ChoiceField(choices=SETTLEMENT_MODES, initial="local",
                                   help_text="who checks the receipt before the worker is paid; the dry run "
                                             "shows each mode's price")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from marketplace.services import settlement_modes
        offered = settlement_modes()        # the chain modes only when a chain is configured
        self.fields["settlement"].choices = [(k, v) for k, v in SETTLEMENT_MODES if k in offered]

    def clean_image_id(self) -> str:
        value = self.cleaned_data["image_id"].strip().lower()
        if value and not HEX_ID.match(value):
            raise forms.ValidationError("an image id is 64 hex digits")
        return value

    def clean_public_input_text(self) -> str:
        """Browsers send a text area's line ends as CRLF; programs read text with plain \\n."""
        return self.cleaned_data["public_input_text"].replace("\r\n", "\n")

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("program") and not data.get("image_id") and not self.errors.get("image_id"):
            raise forms.ValidationError("upload a program (ELF) or give the image id of one already uploaded")
        if data.get("public_input_file") and data.get("public_input_text"):
            raise forms.ValidationError("give the public input as a file or as text, not both")
        try:
            data["elf"] = read_upload(data.get("program"), limits.MAX_ELF_BYTES, "program")
            data["public_input"] = read_upload(data.get("public_input_file"), limits.MAX_PUBLIC_INPUT_BYTES,
                                               "public input") or (data.get("public_input_text") or "").encode()
            data["private_input"] = read_upload(data.get("private_input_file"), limits.MAX_PRIVATE_INPUT_BYTES,
                                                "private input")
        except forms.ValidationError as e:
            self.add_error(None, e)
        return data

    def program_name(self) -> str:
        upload = self.cleaned_data.get("program")
        return (upload.name if upload else "") or "program"

    def job_request(self) -> services.JobRequest:
        d = self.cleaned_data
        return services.JobRequest(
            public_input=d["public_input"], private_input=d["private_input"], max_cycles=d["max_cycles"],
            price_min=d["price_min"], price_max=d["price_max"], ramp_seconds=d["ramp_seconds"],
            lock_timeout_seconds=d["lock_timeout_seconds"], deadline_seconds=d["deadline_seconds"],
            settlement=d["settlement"])


class VerifyForm(forms.Form):
    receipt = forms.FileField(label="Receipt")
    image_id = forms.CharField(required=False, max_length=64, label="Expected image id (optional)",
                               widget=forms.TextInput(attrs={"placeholder": "64 hex digits", "spellcheck": "false"}))

    def clean_image_id(self) -> bytes | None:
        value = self.cleaned_data["image_id"].strip()
        if not value:
            return None
        if not HEX_ID.match(value):
            raise forms.ValidationError("an image id is 64 hex digits")
        return bytes.fromhex(value)

    def clean_receipt(self) -> bytes:
        return read_upload(self.cleaned_data["receipt"], limits.MAX_RECEIPT_BYTES, "receipt") or b""
