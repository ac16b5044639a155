"""The result workbook and the upload summary it shares with e-mails and the status command."""
