"""Uploading a contract's samples as a CSV file."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


class MeasurementUploadForm(forms.Form):
    """A CSV file of samples: contract_service,key,observed_at,value,ok."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    MAX_BYTES = 5 * 1024 * 1024

    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "Columns: contract_service (id or service code), key, observed_at "
            "(ISO 8601 with offset), value, ok. At most 10,000 rows."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise ValidationError(_("The file is larger than 5 MB: split it."))
        return upload
