"""Inline test inputs shared by several test modules."""

from __future__ import annotations

# A CSV with the example rows of the design notes: fictional people, reserved domains only.
SAMPLE_CSV = """\
key,kind,role,courtesy_title,gender,given_name,family_name,organisation,country,host_country,city,tz,email,languages,committees,tags
emb-fr-am-head,embassy,ambassador,Ms,f,Claire,Exemple,Embassy of France in Armenia,FR,AM,Yerevan,Asia/Yerevan,ambassador.fr-am@example.org,fr|en,,
emb-br-am-cda,embassy,charge_d_affaires,Mr,m,Paulo,Exemplo,Embassy of Brazil in Armenia,BR,AM,Yerevan,Asia/Yerevan,chancery.br-am@example.net,pt|en,,
emb-xa-am,embassy,office,,unknown,,,Embassy of Ruritania (covers Armenia from Moscow),XA,RU,Moscow,Europe/Moscow,embassy.moscow@example.org,ru|en,,non-resident
pm-lv-unny,un_permanent_mission,permanent_representative,Ms,f,Līga,Piemēra,Permanent Mission of Latvia to the United Nations,LV,US,New York,America/New_York,mission.lv-unny@example.org,en,,unsc
un-ohchr-hc,un_official,high_commissioner,Mr,m,Jonas,Example,OHCHR,,CH,Geneva,Europe/Zurich,hc-office@example.org,en|fr,,
un-sr-executions,un_special_procedure,special_rapporteur,Ms,f,Ana,Ejemplo,"Special Rapporteur on extrajudicial, summary or arbitrary executions",,CH,Geneva,Europe/Zurich,sr-executions@example.org,en|fr|es,,
mep-999001,mep,mep,Ms,f,Marie,Exemple-Durand,European Parliament,FR,BE,Brussels,Europe/Brussels,marie.exemple-durand@example.org,fr|en,AFET|DROI:substitute|DSCA,
mep-999002,mep,mep,,unknown,Alex,Mustermann,European Parliament,DE,BE,Brussels,Europe/Brussels,alex.mustermann@example.net,de|en,SEDE|DEPA,
"""


# One ambassador as the fields of a CSV row (the inert-text tests vary one field at a time).
AMBASSADOR_ROW: dict[str, str] = {
    "key": "emb-fr-am-head",
    "kind": "embassy",
    "role": "ambassador",
    "courtesy_title": "Ms",
    "gender": "f",
    "given_name": "Claire",
    "family_name": "Exemple",
    "organisation": "Embassy of France in Armenia",
    "country": "FR",
    "host_country": "AM",
    "city": "Yerevan",
    "tz": "Asia/Yerevan",
    "email": "ambassador.fr-am@example.org",
    "languages": "en",
}
